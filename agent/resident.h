// Keeping the agent's resident memory small however large its backlog (issue 4: RSS <= 16 MiB).
//
// LMDB reads through a read-only shared mapping of data.mdb, so every page the batcher or a
// listing touches stays mapped — and counted in the process's RSS — until the kernel needs the
// memory. release_mapping() drops this process's page-table entries for the spool's map
// (store::Env::release_resident, madvise(MADV_DONTNEED)): for the read-only map this discards
// nothing (the pages stay in the page cache, and the next access maps them again), so it is
// safe at any time, even while other threads read through the map.
//
// The large buffers of a batch (a batch's records, the sealed message, the store's page for it,
// the message ZeroMQ sends) are taken from the heap and reused from batch to batch while a
// backlog drains: a buffer mapped afresh for each batch and unmapped after it cost a page fault
// per 4 KiB, about 40% of the agent's time (issue 19). The heap keeps at most a few MiB free
// (M_TRIM_THRESHOLD) and gives all of it back once the backlog is drained (release_heap()), so
// the resident set stays bounded; only buffers above kHeapMmapThreshold (batches of unusually
// large records) get mappings of their own.
//
// Thread-safe.
#pragma once

#include <cstdint>

#include "core/store/env.h"

namespace gongshu::agent {

// Releases the spool's mapped pages (above). A failure (madvise refused) only costs memory and
// is ignored.
void release_mapping(const store::Env& env);

// Drops this process's page-table entries for the pages of its program and shared libraries
// that can never have been written: the PT_LOAD segments without PF_W (code, read-only data,
// the symbol tables the dynamic linker reads at start-up) of objects without text
// relocations, whole pages only. Like the kernel's own reclaim of clean file pages, this loses
// nothing: a page still in use is mapped again from the page cache at its next access (a minor
// fault). What stays away is what only start-up needed — with BIND_NOW, the dynamic symbol
// tables of every library, and initialisation code — about a quarter of the agent's RSS.
// Writable segments (data, GOT, RELRO) are never touched. Returns the bytes advised.
uint64_t release_startup_pages();

// The process's resident set size in bytes (/proc/self/statm), 0 if unknown.
uint64_t resident_bytes();

// glibc malloc settings for a long-running process with a small footprint: `arenas` arenas (not
// one per thread; each keeps its own free memory and its own peak: two for submit, whose
// reader and writer threads would serialise on one; one for the service, whose forwarder's two
// threads allocate a batch's buffers in turn — in two arenas their peaks add up, ~3 MiB more);
// buffers up to kHeapMmapThreshold from the heap (above); at most kHeapTrimThreshold of free
// memory kept at the heap's top. Call once, early, before threads start.
inline constexpr int kHeapMmapThreshold = 4 << 20;
inline constexpr int kHeapTrimThreshold = 2 << 20;
void tune_heap(int arenas = 2);
// Returns free heap memory to the system (malloc_trim).
void release_heap();

}  // namespace gongshu::agent
