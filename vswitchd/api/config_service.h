// sluice.v1.Config: bridges, ports, controllers and any column, as transactions on the
// configuration database. vswitchd's reconciler applies them; AddPort/DeletePort wait for it
// (ReconcileWaiter) so the reply carries what the switch made of the port.
//
// config_service.cc: bridges, ports, controllers, show.
// config_generic.cc: set / get / transact / watch (any table, via column_text.h).
#pragma once

#include "sluice/v1/config.grpc.pb.h"
#include "vswitchd/api/api_context.h"

namespace sluice::api {

class ConfigService final : public v1::Config::Service {
 public:
  explicit ConfigService(ApiContext& ctx) : ctx_(ctx) {}

  grpc::Status ListBridges(grpc::ServerContext*, const v1::ListBridgesRequest*, v1::ListBridgesResponse*) override;
  grpc::Status AddBridge(grpc::ServerContext*, const v1::AddBridgeRequest*, v1::AddBridgeResponse*) override;
  grpc::Status DeleteBridge(grpc::ServerContext*, const v1::DeleteBridgeRequest*, v1::DeleteBridgeResponse*) override;
  grpc::Status AddPort(grpc::ServerContext*, const v1::AddPortRequest*, v1::AddPortResponse*) override;
  grpc::Status DeletePort(grpc::ServerContext*, const v1::DeletePortRequest*, v1::DeletePortResponse*) override;
  grpc::Status ListPorts(grpc::ServerContext*, const v1::ListPortsRequest*, v1::ListPortsResponse*) override;
  grpc::Status SetController(grpc::ServerContext*, const v1::SetControllerRequest*, v1::SetControllerResponse*) override;
  grpc::Status Show(grpc::ServerContext*, const v1::ShowRequest*, v1::ShowResponse*) override;
  grpc::Status Set(grpc::ServerContext*, const v1::SetRequest*, v1::SetResponse*) override;
  grpc::Status Get(grpc::ServerContext*, const v1::GetRequest*, v1::GetResponse*) override;
  grpc::Status Transact(grpc::ServerContext*, const v1::TransactRequest*, v1::TransactResponse*) override;
  grpc::Status Watch(grpc::ServerContext*, const v1::WatchRequest*, grpc::ServerWriter<v1::WatchEvent>*) override;

 private:
  // Commits ops; with `wait`, returns once the reconciler has applied them.
  grpc::Status commit(const ovsdb::Json& ops, bool wait, ovsdb::Json* result = nullptr);
  ApiContext& ctx_;
};

}  // namespace sluice::api
