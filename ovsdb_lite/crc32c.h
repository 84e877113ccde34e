// CRC32C (Castagnoli, polynomial 0x1EDC6F41 reflected = 0x82F63B78), the checksum of the log's
// record frames. Chosen over CRC32 (zlib) for its better error detection on storage-sized
// blocks (it is what iSCSI, ext4 metadata and LevelDB use); software only, so ovsdb_lite
// needs neither DPDK nor SSE4.2.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace sluice::ovsdb {

// Extends `crc` (the value of a previous call, or 0 to start) over `data`:
// crc32c_extend(crc32c_extend(0, a), b) == crc32c(a + b).
uint32_t crc32c_extend(uint32_t crc, const void* data, size_t size);

inline uint32_t crc32c(std::string_view data) { return crc32c_extend(0, data.data(), data.size()); }

}  // namespace sluice::ovsdb
