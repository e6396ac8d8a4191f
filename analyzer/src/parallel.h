// Running independent failure scenarios on more than one core, with a deterministic result.
//
// Why this shape: the single failures (and the capacity scenarios among them) are independent
// of one another, and each thread needs scratch space of its own (a Propagator, a LoadSolver)
// that costs O(topology) to make. So a fixed, small number of threads each take the next item
// from a shared counter, and the caller puts every result into its item's own slot: what the
// output holds does not depend on which thread computed what.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace achilles::analyzer::detail {

/// How many threads to use for `count` items: `requested`, or when it is 0 up to two (the
/// machines this runs on have few cores, and each thread costs a copy of the scratch space);
/// fewer while there would be under `min_per_thread` items per thread.
inline unsigned thread_count(size_t count, size_t min_per_thread, unsigned requested = 0) {
  unsigned threads =
      requested ? requested : std::min(2u, std::max(1u, std::thread::hardware_concurrency()));
  while (threads > 1 && count < threads * min_per_thread)
    --threads;
  return threads;
}

/// Calls work(t, i) once for every i in [0, count), on `threads` threads; t is the thread's
/// number, 0 for the calling thread (the one that may report progress). Items are handed out
/// in increasing order. The first exception thrown stops the handing out and is rethrown
/// here once every thread has stopped.
template <typename Work>
void parallel_for(size_t count, unsigned threads, Work&& work) {
  std::atomic<size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto run = [&](unsigned t) {
    try {
      for (size_t i; (i = next.fetch_add(1)) < count;)
        work(t, i);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!error) error = std::current_exception();
      next = count;
    }
  };
  std::vector<std::thread> helpers;
  for (unsigned t = 1; t < threads; ++t)
    helpers.emplace_back(run, t);
  run(0);
  for (auto& h : helpers)
    h.join();
  if (error) std::rethrow_exception(error);
}

/// The number of blocks of `block` consecutive items that cover `count` items.
inline size_t block_count(size_t count, size_t block) {
  return (count + block - 1) / block;
}

/// parallel_for over blocks of `block` consecutive items of [0, count), so that short items
/// cost one hand-out per block rather than one each: calls work(t, b, begin, end) for block
/// number b, which covers [begin, end).
template <typename Work>
void parallel_blocks(size_t count, size_t block, unsigned threads, Work&& work) {
  parallel_for(block_count(count, block), threads, [&](unsigned t, size_t b) {
    work(t, b, b * block, std::min(count, (b + 1) * block));
  });
}

/// std::sort of [first, last) by `less` on up to two threads: each half sorted on a thread
/// of its own, then the two merged.
template <typename It, typename Less>
void parallel_sort(It first, It last, Less less, unsigned threads, size_t min_per_thread = 4096) {
  const auto n = static_cast<size_t>(last - first);
  const It middle = first + static_cast<std::ptrdiff_t>(n / 2);
  parallel_for(2, thread_count(n, min_per_thread, threads), [&](unsigned, size_t half) {
    std::sort(half == 0 ? first : middle, half == 0 ? middle : last, less);
  });
  std::inplace_merge(first, middle, last, less);
}

}  // namespace achilles::analyzer::detail
