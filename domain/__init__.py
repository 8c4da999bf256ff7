"""Pure business rules of Omni OMS: standard library only, deterministic, no I/O."""
