"""Integration test harness: emulator endpoints, scratch stacks, call recording, faults."""
