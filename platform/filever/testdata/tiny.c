/* The smallest Windows program mingw links (no C runtime): filever's fuzz
   seeds, small enough for the fuzzer to minimize quickly. */
int start(void) { return 0; }
