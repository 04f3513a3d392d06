"""Library verbs above the device engine: diff, health check, key management, rollover."""
