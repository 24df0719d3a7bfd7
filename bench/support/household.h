// The benches' record: a population.household record of 512 serialized bytes (the size the
// speed targets are stated in), for a given record key and citizen id.
#pragma once

#include <string>

namespace gongshu::bench {

std::string household_record_512(const std::string& record_key, const std::string& citizen_id);

}  // namespace gongshu::bench
