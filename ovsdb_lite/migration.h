// Schema-version migration of decoded data (private): the registered Migration steps whose
// from_version lies in [file version, new version) run in version order on the data
// (table → {uuid → row object}); data_import.h then drops what the new schema lacks and
// defaults what it adds.
#pragma once

#include <string>
#include <vector>

#include "ovsdb_lite/schema_types.h"

namespace sluice::ovsdb {

// `ran` receives the from_version of each step that ran. Errors name the failing step.
Status run_migrations(Json* data, const std::string& file_version, const std::string& new_version,
                      const std::vector<Migration>& migrations, std::vector<std::string>* ran);

}  // namespace sluice::ovsdb
