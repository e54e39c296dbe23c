// The tests drive real processes on two cores and time-sensitive behaviour (overlapping cold requests, a kill during
// a scan, TTL expiry): they run one at a time so they do not starve each other.
[assembly: CollectionBehavior(DisableTestParallelization = true)]
