// Keeping the agent's resident memory small however large its backlog (issue 4: RSS <= 16 MiB).
//
// LMDB reads through a read-only shared mapping of data.mdb, so every page the batcher or a
// listing touches stays mapped — and counted in the process's RSS — until the kernel needs the
// memory. release_mapping() drops this process's page-table entries for the spool's map
// (store::Env::release_resident, madvise(MADV_DONTNEED)): for the read-only map this discards
// nothing (the pages stay in the page cache, and the next access maps them again), so it is
// safe at any time, even while other threads read through the map.
//
// Large buffers (batches, sealed messages) are kept out of the heap by tune_heap(), so freeing
// them returns the memory to the system at once.
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

// glibc malloc settings for a long-running process with a small footprint: two arenas (not one
// per thread; each keeps its own free memory, and one alone would serialise submit's reader and
// writer threads), and buffers of 64 KiB and more (batches, sealed messages) in
// their own mappings, returned to the system when freed instead of kept in the heap. Call once,
// early, before threads start.
void tune_heap();
// Returns free heap memory to the system (malloc_trim).
void release_heap();

}  // namespace gongshu::agent
