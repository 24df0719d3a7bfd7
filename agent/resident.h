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
// Where the peak lies (bench/e2e/hwm_sampler.py, 600,000 records of 512 B, 7 Dec 2026): not in
// start-up but anywhere in the drain, where the heap's high moments (3.7 MiB median, 4.3-5.4
// max) meet the map's: data.mdb is ~0.9 MiB resident at the median but 3-5 MiB at its spikes,
// although the map is released every 512 KiB read. The cause is the kernel (6.18, ext4 with
// large folios): a fault on the map maps the WHOLE folio around the page read (one byte read
// of a file written in 1 MiB writes maps 1 MiB, MADV_RANDOM/NORDAHEAD or MADV_NOHUGEPAGE
// notwithstanding), so the bytes a step reads undercount what it maps: the ack path peeks only
// the first page of each segment yet maps its folio. Releasing the map after every pending
// entry (sealing and acks) cut the one-agent VmHWM median by ~0.5-1 MiB (16.9 -> 16.0, 15.9 ->
// 15.4 MiB over 4-5 runs each) but cost 10-17% more CPU per record (refaults of whole folios,
// and each madvise's TLB shootdown): not taken. A release of only the folio-sized range around
// the value read would avoid the refaults of hot B-tree pages but needs the map's bounds from
// store::Env (a range outside the read-only map would discard heap memory). Releasing the code
// pages once a second after the warm-up did not lower the peak (16.37 vs 16.36 MiB median).
// Releasing, block by 2 MiB block, the pages each thread reads (segments, acks' outbox headers
// and deleted segments, resends) as soon as it reads outside the block (8 Dec 2026) did not
// lower data.mdb's spikes either (max 3.9-4.2 MiB against 3.9-4.7, two runs each): what maps
// them is LMDB's own reading inside the write transaction (the trees and free list it walks to
// delete and allocate), which the agent cannot see; and at the sampled peak data.mdb held only
// 1.0-1.4 MiB while the heap held 3.9-5.1 MiB (a batch's buffers, the sealed messages ZeroMQ
// still holds, its CURVE copy). The next step is the heap's: fewer sealed messages queued.
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
