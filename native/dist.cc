// c10d bindings for data-parallel training: a TCPStore rendezvous and a Gloo process group
// (libtorch's own), with the collectives a trainer needs. Built when Gloo's headers are
// present (Debian: libgloo-dev); otherwise every call says how to get it.
#include "common.h"

#ifdef TSTORCH_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif

namespace tstorch {

#ifdef TSTORCH_WITH_GLOO
struct DistState {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroup> pg;
  int rank = 0;
  int worldSize = 1;
  std::chrono::milliseconds timeout{30000};
};
#else
struct DistState {};
#endif

namespace {

#ifdef TSTORCH_WITH_GLOO
DistState& state(const Napi::CallbackInfo& info) {
  auto& d = table(info).dist;
  if (!d || !d->pg) throw std::runtime_error("distributed: not initialised (call initProcessGroup first)");
  return *d;
}

void waitFor(const c10::intrusive_ptr<c10d::Work>& work, const DistState& d, const char* what) {
  try {
    work->wait(d.timeout);
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("distributed ") + what + " failed on rank " + std::to_string(d.rank) +
                             " (a peer may have died or timed out): " + e.what());
  }
}

// distInit(masterAddr, masterPort, rank, worldSize, timeoutMs)
Napi::Value distInit(const Napi::CallbackInfo& info) {
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  int port = argInt(info, 1), rank = argInt(info, 2), world = argInt(info, 3);
  auto timeout = std::chrono::milliseconds(argInt64(info, 4));
  if (world < 1 || rank < 0 || rank >= world) throw std::runtime_error("distributed: need 0 <= rank < world size");
  auto d = std::make_shared<DistState>();
  c10d::TCPStoreOptions so;
  so.port = static_cast<uint16_t>(port);
  so.isServer = rank == 0;
  so.numWorkers = world;
  so.waitWorkers = true;
  so.timeout = timeout;
  try {
    d->store = c10::make_intrusive<c10d::TCPStore>(addr, so);
  } catch (const std::exception& e) {
    throw std::runtime_error("distributed: rendezvous at " + addr + ":" + std::to_string(port) + " failed for rank " +
                             std::to_string(rank) + " of " + std::to_string(world) + ": " + e.what());
  }
  auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
  opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
  d->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(d->store, rank, world, opts);
  d->rank = rank;
  d->worldSize = world;
  d->timeout = timeout;
  table(info).dist = d;
  return info.Env().Undefined();
}

// distAllReduce(ids, average, bucketBytes): sums (or averages) the tensors across ranks, in
// place, flattened into buckets of about bucketBytes so that there are few collectives.
void allReduceInPlace(DistState& d, std::vector<at::Tensor> ts, bool average, int64_t bucketBytes) {
  size_t i = 0;
  while (i < ts.size()) {
    std::vector<at::Tensor> bucket;
    int64_t bytes = 0;
    at::ScalarType st = ts[i].scalar_type();
    while (i < ts.size() && ts[i].scalar_type() == st && (bucket.empty() || bytes + (int64_t)ts[i].nbytes() <= bucketBytes)) {
      bytes += ts[i].nbytes();
      bucket.push_back(ts[i++]);
    }
    std::vector<at::Tensor> flat;
    for (auto& t : bucket) flat.push_back(t.reshape({-1}));
    std::vector<at::Tensor> buf{at::cat(flat)};
    waitFor(d.pg->allreduce(buf), d, "all-reduce");
    if (average) buf[0].div_(d.worldSize);
    int64_t off = 0;
    for (auto& t : bucket) {
      t.copy_(buf[0].narrow(0, off, t.numel()).view(t.sizes()));
      off += t.numel();
    }
  }
}

Napi::Value distAllReduce(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  allReduceInPlace(state(info), argTensors(info, 0), argBool(info, 1), argInt64(info, 2));
  return info.Env().Undefined();
}

// distAllReduceGrads(paramIds, bucketBytes): averages the .grad of every parameter that has one.
Napi::Value distAllReduceGrads(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : argTensors(info, 0)) {
    if (!p.grad().defined()) throw std::runtime_error("distributed: a trainable parameter has no gradient on this rank");
    grads.push_back(p.grad());
  }
  allReduceInPlace(state(info), grads, true, argInt64(info, 1));
  return info.Env().Undefined();
}

// distBroadcast(ids, root): every rank gets root's values, in place.
Napi::Value distBroadcast(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::BroadcastOptions o;
  o.rootRank = argInt(info, 1);
  for (const at::Tensor& t : argTensors(info, 0)) {
    std::vector<at::Tensor> v{t.detach()};
    waitFor(d.pg->broadcast(v, o), d, "broadcast");
  }
  return info.Env().Undefined();
}

Napi::Value distBarrier(const Napi::CallbackInfo& info) {
  DistState& d = state(info);
  waitFor(d.pg->barrier(), d, "barrier");
  return info.Env().Undefined();
}

Napi::Value distDestroy(const Napi::CallbackInfo& info) {
  table(info).dist.reset();
  return info.Env().Undefined();
}
#else
Napi::Value unavailable(const Napi::CallbackInfo&) {
  throw std::runtime_error("distributed: this build has no Gloo (install libgloo-dev and rebuild: npm run build:native)");
}
#define distInit unavailable
#define distAllReduce unavailable
#define distAllReduceGrads unavailable
#define distBroadcast unavailable
#define distBarrier unavailable
#define distDestroy unavailable
#endif

Napi::Value distAvailable(const Napi::CallbackInfo& info) {
#ifdef TSTORCH_WITH_GLOO
  return Napi::Boolean::New(info.Env(), true);
#else
  return Napi::Boolean::New(info.Env(), false);
#endif
}

}  // namespace

void registerDist(Registrar& r) {
  r.add<distInit>("distInit");
  r.add<distAllReduce>("distAllReduce");
  r.add<distAllReduceGrads>("distAllReduceGrads");
  r.add<distBroadcast>("distBroadcast");
  r.add<distBarrier>("distBarrier");
  r.add<distDestroy>("distDestroy");
  r.add<distAvailable>("distAvailable");
}

}  // namespace tstorch
