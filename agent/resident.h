// Keeping the agent's resident memory small however large its backlog (issue: RSS <= 16 MiB).
//
// LMDB reads through a read-only shared mapping of data.mdb, so every page the batcher or a
// listing touches stays mapped — and counted in the process's RSS — until the kernel needs the
// memory. release_mapping() drops this process's page-table entries for that file with
// madvise(MADV_DONTNEED): for a read-only MAP_SHARED file mapping this discards nothing (the
// pages stay in the page cache, and the next access maps them again), so it is safe at any
// time, even while other threads read through the map.
//
// Thread-safe (each call reads /proc/self/maps afresh).
#pragma once

#include <cstdint>
#include <string>

namespace gongshu::agent {

// Releases every mapping of the file at path; returns the bytes of address space advised.
uint64_t release_mapping(const std::string& path);

// The process's resident set size in bytes (/proc/self/statm), 0 if unknown.
uint64_t resident_bytes();

// glibc malloc settings for a long-running process with a small footprint: two arenas, and
// buffers of 64 KiB and more (batches, sealed messages) in their own mappings, returned to the
// system when freed instead of kept in the heap. Call once, early, before threads start.
void tune_heap();
// Returns free heap memory to the system (malloc_trim).
void release_heap();

}  // namespace gongshu::agent
