#include "agent/resident.h"

#include <elf.h>
#include <link.h>
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

namespace gongshu::agent {

// A failure (madvise refused) only costs memory, never data: the pages stay mapped.
void release_mapping(const store::Env& env) { (void)env.release_resident(); }

namespace {

// True if the object's dynamic section asks for text relocations: its code pages may then
// have been written (copied on write) and must not be dropped.
bool has_text_relocations(const dl_phdr_info& info) {
  for (int i = 0; i < info.dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info.dlpi_phdr[i];
    if (ph.p_type != PT_DYNAMIC) continue;
    auto* dyn = reinterpret_cast<const ElfW(Dyn)*>(info.dlpi_addr + ph.p_vaddr);
    for (; dyn->d_tag != DT_NULL; ++dyn) {
      if (dyn->d_tag == DT_TEXTREL) return true;
      if (dyn->d_tag == DT_FLAGS && (dyn->d_un.d_val & DF_TEXTREL)) return true;
    }
  }
  return false;
}

int release_object(dl_phdr_info* info, size_t, void* data) {
  // The vDSO is the kernel's, not a file mapping.
  if (info->dlpi_name && std::strstr(info->dlpi_name, "linux-vdso")) return 0;
  if (has_text_relocations(*info)) return 0;
  const uintptr_t page = uintptr_t(::sysconf(_SC_PAGESIZE));
  // The RELRO range was written by the dynamic linker (it lies in a writable segment; checked
  // anyway).
  uintptr_t relro_lo = 0, relro_hi = 0;
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_GNU_RELRO) continue;
    relro_lo = (info->dlpi_addr + ph.p_vaddr) / page * page;
    relro_hi = (info->dlpi_addr + ph.p_vaddr + ph.p_memsz + page - 1) / page * page;
  }
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const ElfW(Phdr)& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD || (ph.p_flags & PF_W) || ph.p_memsz == 0) continue;
    // Whole pages inside the segment only: a page shared with a neighbouring (writable)
    // segment stays.
    uintptr_t lo = info->dlpi_addr + ph.p_vaddr;
    uintptr_t hi = lo + ph.p_filesz;
    lo = (lo + page - 1) / page * page;
    hi = hi / page * page;
    if (hi <= lo || (lo < relro_hi && relro_lo < hi)) continue;
    if (::madvise(reinterpret_cast<void*>(lo), hi - lo, MADV_DONTNEED) == 0) {
      *static_cast<uint64_t*>(data) += hi - lo;
    }
  }
  return 0;
}

}  // namespace

uint64_t release_startup_pages() {
  uint64_t advised = 0;
  ::dl_iterate_phdr(release_object, &advised);
  return advised;
}

uint64_t resident_bytes() {
  std::FILE* f = std::fopen("/proc/self/statm", "r");
  if (!f) return 0;
  unsigned long size = 0, rss = 0;
  int n = std::fscanf(f, "%lu %lu", &size, &rss);  // i18n-exempt: a scanf format
  std::fclose(f);
  if (n != 2) return 0;
  return uint64_t(rss) * uint64_t(::sysconf(_SC_PAGESIZE));
}

void tune_heap(int arenas) {
  ::mallopt(M_ARENA_MAX, arenas);
  ::mallopt(M_MMAP_THRESHOLD, kHeapMmapThreshold);
  ::mallopt(M_TRIM_THRESHOLD, kHeapTrimThreshold);
}

void release_heap() { ::malloc_trim(0); }

}  // namespace gongshu::agent
