// A run's status as JSON, the shape DESIGN.md s.7 fixes for `atelier status
// --json` and the dashboard's /api/v1/runs/{run}: state, job counts overall and
// by stage, verdict counts by check, the assets a gate quarantined, and the
// folders seen full (disk_full) with the run's jobs waiting for space.
#pragma once
#include "orchestrator/store.h"

namespace atelier {

json run_status_json(Store& store, const RunRow& run);

// The folders seen full (Store::disk_full) as status and the dashboard show
// them: host, path, error, free_bytes, since and seen_at (UTC ISO 8601).
json disk_full_json(Store& store);

}  // namespace atelier
