# t/fuzz/: libFuzzer targets (built by 'make fuzz' with clang; not part of the default build).
