#pragma once
// Counts calls of the global allocation functions of the envs_tests binary (replaced in
// allocation_counter_test.cc), for tests asserting that hot loops allocate nothing.
#include <cstdint>

namespace imagine::testing {

// Allocations so far, from every thread.
int64_t allocations();

}  // namespace imagine::testing
