#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <new>

#include "tests/envs/allocation_counter.h"

// Allocation counting for the AllocationTest suite (allocation_counter.h). Replacing the
// global allocation functions is sanctioned by the standard ([replacement.functions]) and
// affects this whole test binary (envs_tests, shared libraries included), which is why the
// replacements are deliberately trivial: they forward to malloc/posix_memalign/free as
// libstdc++'s own versions do (so every other test sees the same behaviour, and memory
// from either version may be freed by the other), adding only one relaxed atomic increment
// (thread-safe and allocation-free) that only the AllocationTest suite reads. They live in
// their own file so that no caller inlines them.
namespace {
std::atomic<int64_t> g_allocations{0};

void* counted_alloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return std::malloc(size ? size : 1);
}
void* counted_aligned_alloc(std::size_t size, std::align_val_t align) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  void* p = nullptr;
  const std::size_t a = std::max(static_cast<std::size_t>(align), sizeof(void*));
  return posix_memalign(&p, a, size ? size : 1) == 0 ? p : nullptr;
}
}  // namespace

void* operator new(std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size) {
  if (void* p = counted_alloc(size)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, const std::nothrow_t&) noexcept { return counted_alloc(size); }
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept { return counted_alloc(size); }
void* operator new(std::size_t size, std::align_val_t align) {
  if (void* p = counted_aligned_alloc(size, align)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t size, std::align_val_t align) {
  if (void* p = counted_aligned_alloc(size, align)) return p;
  throw std::bad_alloc();
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counted_aligned_alloc(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return counted_aligned_alloc(size, align);
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { std::free(p); }

int64_t imagine::testing::allocations() { return g_allocations.load(); }

namespace imagine::testing {
namespace {

TEST(AllocationTest, CounterSeesAllocations) {
  // Guards the allocation tests against a counter that is not wired in. Direct calls (not
  // new-expressions, which the compiler may elide); volatile keeps them.
  static void* volatile sink = nullptr;
  const int64_t before = allocations();
  sink = ::operator new(64);
  ::operator delete(sink);
  sink = ::operator new[](64);
  ::operator delete[](sink);
  EXPECT_EQ(allocations() - before, 2);
}

}  // namespace
}  // namespace imagine::testing
