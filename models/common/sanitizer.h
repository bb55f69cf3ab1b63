// AddressSanitizer and SystemC's coroutines. SystemC tells ASan about each
// switch between its threads' stacks, but when the simulation returns to
// the main stack it cannot name that stack, so ASan keeps believing the
// thread runs on the last coroutine's stack. The first exception thrown on
// the main stack afterwards then trips a false "stack-use-after-scope"
// (google/sanitizers#189). Call this after sc_start() returns: it tells
// ASan which stack the main thread is on. A no-op without ASan.
#pragma once

namespace pnm {
void sanitizer_back_on_main_stack();
}
