#include "tools/drill/bilingual.h"

// Languages: this file is the report's own Chinese beside English (bilingual.h); nothing here
// goes through the catalogue.

#include <map>

namespace gongshu::drill {

Bilingual figure_name(const std::string& figure) {
  // The figures plans expect on and the report lists (runner.cc, docs/drills.md).
  static const std::map<std::string, std::string> zh = {
      {"lost", "丢失记录数"},
      {"doubled", "重复记录数"},
      {"submitted", "提交记录数"},
      {"acknowledged", "已确认记录数"},
      {"stored", "已存储记录数"},
      {"acknowledged_batches", "已确认批次数"},
      {"proven_batches", "已证明批次数"},
      {"unknown_batches", "已记录但确认未送达的批次数"},
      {"unknown_records", "已记录但确认未送达的记录数"},
      {"rpo_batches", "恢复点后确认的批次数"},
      {"rpo_records", "恢复点后确认的记录数（RPO）"},
      {"rto_ms", "恢复用时（RTO，毫秒）"},
      {"recovery_ms", "恢复用时（毫秒）"},
      {"failover_ms", "故障转移用时（毫秒）"},
      {"drain_ms", "队列清空用时（毫秒）"},
      {"offline_ms", "离线时长（毫秒）"},
      {"full_ms", "存储写满用时（毫秒）"},
      {"refusal_ms", "拒绝用时（毫秒）"},
      {"resume_ms", "恢复报送用时（毫秒）"},
      {"waited_ms", "等待用时（毫秒）"},
      {"stored_per_s", "每秒存储记录数"},
      {"stored_while_waiting", "等待期间存储记录数"},
      {"daemon_start_ms", "守护进程启动用时（毫秒）"},
      {"daemon_exit_ms", "守护进程退出用时（毫秒）"},
      {"agent_exit_ms", "代理程序退出用时（毫秒）"},
      {"setup_ms", "沙箱构建用时（毫秒）"},
      {"tamper_cases", "篡改样本数"},
      {"tamper_caught", "识别出的篡改数"},
      {"tamper_located", "定位到审计日志项的篡改数"},
      {"checkpoint_size", "检查点的树大小"},
      {"leader_terms_in_log", "审计日志中的主节点任期数"},
      {"term", "任期"},
      {"term_before", "原任期"},
      {"term_after", "新任期"},
      {"new_leader_ms", "选出新主节点用时（毫秒）"},
      {"first_ack_ms", "首次确认用时（毫秒）"},
      {"leader_elected_ms", "选出主节点用时（毫秒）"},
      {"cluster_start_ms", "集群组建用时（毫秒）"},
      {"acknowledged_missing_after_cut", "断电前已确认、重启后缺失的记录数"},
      {"acknowledged_before_cut", "断电前已确认记录数"},
      {"stored_after_restart", "重启后已存储记录数"},
      {"backup_ms", "备份用时（毫秒）"},
      {"stored_before_backup", "备份前已存储记录数"},
      {"restart_ms", "重启用时（毫秒）"},
      {"rotation_ms", "密钥轮换用时（毫秒）"},
      {"grow_ms", "扩容用时（毫秒）"},
      {"reload_audited_ms", "重新加载记入审计日志用时（毫秒）"},
      {"stored_when_full", "写满时已存储记录数"},
      {"spooled_when_full", "写满时队列中记录数"},
      {"load_records_per_agent", "每个代理程序的负载记录数"},
      {"acknowledged_at_revoke", "吊销时已确认记录数"},
      {"bytes_synced_before_cut", "断电前已同步字节数"},
      {"cut_after_ms", "断电时刻（毫秒）"},
      {"cut_right_after_write", "紧接写入后断电"},
      {"fsyncs_before_cut", "断电前 fsync 次数"},
      {"mount_ms", "挂载用时（毫秒）"},
      {"power_cycle_ms", "断电重启用时（毫秒）"},
      {"unsynced_bytes_discarded", "丢弃的未同步字节数"},
      {"unsynced_files_discarded", "丢弃的未同步文件数"},
      {"store_used_bytes", "存储已用字节数"},
      {"store_map_bytes", "存储上限字节数"},
      {"rejoin_ms", "原主节点重新加入用时（毫秒）"},
      {"reseeded", "是否重新播种"},
      {"rejoined_tree_size", "重新加入时的审计树大小"},
      {"drill_started_seq", "演练开始的审计日志项"},
  };
  auto it = zh.find(figure);
  if (it == zh.end()) return same(figure);
  // "恢复用时（毫秒）" becomes "恢复用时（recovery_ms，毫秒）": one bracket, the name first.
  const std::string& words = it->second;
  static const std::string kOpen = "（";
  size_t open = words.find(kOpen);
  if (open == std::string::npos) return {words + "（" + figure + "）", figure};
  return {words.substr(0, open) + "（" + figure + "，" + words.substr(open + kOpen.size()), figure};
}

Bilingual condition_name(const std::string& c) {
  static const std::map<std::string, std::string> zh = {
      {"drained", "队列清空（drained）"},       {"load-done", "负载提交完毕（load-done）"},
      {"stored", "已存储记录数（stored）"},     {"acknowledged", "已确认记录数（acknowledged）"},
      {"refused", "拒绝次数（refused）"},       {"store-full", "存储已满（store-full）"},
      {"new-leader", "新主节点（new-leader）"}, {"rejoined", "原主节点重新加入（rejoined）"},
  };
  auto it = zh.find(c);
  return it == zh.end() ? same(c) : Bilingual{it->second, c};
}

Bilingual with_reason(std::string_view zh_class, const std::string& english_reason) {
  return {std::string(zh_class) + "（" + english_reason + "）", english_reason};
}

}  // namespace gongshu::drill
