// sluice.v1.Stats: port, PMD and megaflow counters, named drop counters, trace. Read-only.
#pragma once

#include "sluice/v1/stats.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

class StatsService final : public v1::Stats::Service {
 public:
  explicit StatsService(ApiContext& ctx) : ctx_(ctx) {}
  grpc::Status DumpPorts(grpc::ServerContext*, const v1::DumpPortsRequest*, v1::DumpPortsResponse*) override;
  grpc::Status PmdStats(grpc::ServerContext*, const v1::PmdStatsRequest*, v1::PmdStatsResponse*) override;
  grpc::Status DumpDatapathFlows(grpc::ServerContext*, const v1::DumpDatapathFlowsRequest*,
                                 v1::DumpDatapathFlowsResponse*) override;
  grpc::Status Counters(grpc::ServerContext*, const v1::CountersRequest*, v1::CountersResponse*) override;
  grpc::Status Trace(grpc::ServerContext*, const v1::TraceRequest*, v1::TraceResponse*) override;

 private:
  ApiContext& ctx_;
};

}  // namespace sluice::api
