"""The performance lab: seeded data sets, naive "before" code, workloads and reports."""
