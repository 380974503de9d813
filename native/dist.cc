// c10d bindings: a TCPStore rendezvous and a process group (libtorch's own: Gloo on CPU, NCCL on
// CUDA), torch.distributed's collectives and point-to-point ops, and overlapped gradient sync. Gloo is
// built when its headers are present (Debian: libgloo-dev), NCCL when the libtorch is a CUDA one
// with NCCL (CMakeLists.txt compiles this file once to check); otherwise each call says why not.
#include <torch/version.h>

#include "common.h"

#if defined(TSTORCH_WITH_GLOO) || defined(TSTORCH_WITH_NCCL)
#define TSTORCH_WITH_C10D 1
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef TSTORCH_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef TSTORCH_WITH_NCCL
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace tstorch {

#ifdef TSTORCH_WITH_C10D
// libtorch 2.x splits the process group into a front and per-device backends; the backends
// (ProcessGroupGloo, ProcessGroupNCCL) carry the collectives we call.
#if TORCH_VERSION_MAJOR >= 2
using Group = c10d::Backend;
#else
using Group = c10d::ProcessGroup;
#endif

// Gradient buckets whose all-reduce starts from autograd hooks as soon as the bucket's last
// gradient is computed, so that communication overlaps the rest of backward (DDP's reducer,
// in its simplest form). Buckets are filled in reverse parameter order: backward's order.
// The hooks act only in a backward armed by distPrepareGradSync: the backwards before it
// (gradient accumulation's micro-batches, DDP's no_sync) just accumulate into .grad, and the
// armed one sends each parameter's whole gradient, the accumulated .grad plus its own part.
struct GradSync {
  std::vector<at::Tensor> params;
  std::vector<int> bucketOf;
  std::vector<int64_t> offset;
  std::vector<at::Tensor> buffers;
  std::vector<int> size, pending;
  std::vector<char> seen;  // which parameters' hooks ran in the armed backward
  std::vector<c10::intrusive_ptr<c10d::Work>> works;
  bool active = false;
  bool armed = false;  // set by distPrepareGradSync, cleared by distFinishGradSync
};

struct DistState {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<Group> pg;
  std::string backend;
  int rank = 0;
  int worldSize = 1;
  std::chrono::milliseconds timeout{30000};
  std::shared_ptr<GradSync> sync;
};
#else
struct DistState {};
#endif

namespace {

#ifdef TSTORCH_WITH_C10D
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

bool hasBackend(const std::string& name) {
#ifdef TSTORCH_WITH_GLOO
  if (name == "gloo") return true;
#endif
#ifdef TSTORCH_WITH_NCCL
  if (name == "nccl") return true;
#endif
  return false;
}

// distInit(masterAddr, masterPort, rank, worldSize, timeoutMs, backend)
Napi::Value distInit(const Napi::CallbackInfo& info) {
  std::string addr = info[0].As<Napi::String>().Utf8Value();
  int port = argInt(info, 1), rank = argInt(info, 2), world = argInt(info, 3);
  auto timeout = std::chrono::milliseconds(argInt64(info, 4));
  std::string backend = isNullish(info, 5) ? "gloo" : info[5].As<Napi::String>().Utf8Value();
  if (world < 1 || rank < 0 || rank >= world) throw std::runtime_error("distributed: need 0 <= rank < world size");
  // (torch.distributed.initProcessGroup says which backends the build has, and how to get others.)
  if (!hasBackend(backend)) throw std::runtime_error("distributed: backend '" + backend + "' is not in this build");
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
#ifdef TSTORCH_WITH_GLOO
  if (backend == "gloo") {
    auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
    opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(addr));
    d->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(d->store, rank, world, opts);
  }
#endif
#ifdef TSTORCH_WITH_NCCL
  if (backend == "nccl") {
    auto opts = c10d::ProcessGroupNCCL::Options::create();
    opts->timeout = timeout;
    d->pg = c10::make_intrusive<c10d::ProcessGroupNCCL>(d->store, rank, world, opts);
  }
#endif
  d->backend = backend;
  d->rank = rank;
  d->worldSize = world;
  d->timeout = timeout;
  table(info).dist = d;
  return info.Env().Undefined();
}

// The reduction named by torch.distributed.ReduceOp's value ('sum', 'product', 'min', 'max';
// 'avg' is a sum divided here, as Gloo has no AVG).
c10d::ReduceOp reduceOp(const std::string& op) {
  if (op == "sum" || op == "avg") return c10d::ReduceOp::SUM;
  if (op == "product") return c10d::ReduceOp::PRODUCT;
  if (op == "min") return c10d::ReduceOp::MIN;
  if (op == "max") return c10d::ReduceOp::MAX;
  throw std::runtime_error("distributed: unknown reduce op '" + op + "' (sum, avg, product, min, max)");
}

// The 'avg' of a summed tensor: divided by the world size in place; integer tensors keep their
// dtype with the quotient truncated, as NCCL's ncclAvg gives them.
void divideForAvg(at::Tensor& t, int world) {
  if (at::isIntegralType(t.scalar_type(), /*includeBool=*/false)) t.div_(world, "trunc");
  else t.div_(world);
}

// distAllReduce(ids, op, bucketBytes): reduces the tensors across ranks, in place, flattened
// into buckets of about bucketBytes so that there are few collectives.
void allReduceInPlace(DistState& d, std::vector<at::Tensor> ts, const std::string& op, int64_t bucketBytes) {
  c10d::AllreduceOptions o;
  o.reduceOp = reduceOp(op);
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
    waitFor(d.pg->allreduce(buf, o), d, "all-reduce");
    if (op == "avg") divideForAvg(buf[0], d.worldSize);
    int64_t off = 0;
    for (auto& t : bucket) {
      t.copy_(buf[0].narrow(0, off, t.numel()).view(t.sizes()));
      off += t.numel();
    }
  }
}

Napi::Value distAllReduce(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  allReduceInPlace(state(info), argTensors(info, 0), argString(info, 1), argInt64(info, 2));
  return info.Env().Undefined();
}

// distReduce(id, dst, op): dst receives the reduction of every rank's tensor, in place.
Napi::Value distReduce(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::ReduceOptions o;
  o.rootRank = argInt(info, 1);
  std::string op = argString(info, 2);
  o.reduceOp = reduceOp(op);
  // (Gloo uses the other ranks' tensors as scratch space: they reduce a copy and keep theirs.)
  at::Tensor t = argTensor(info, 0).detach();
  std::vector<at::Tensor> v{d.rank == o.rootRank ? t : t.clone()};
  waitFor(d.pg->reduce(v, o), d, "reduce");
  if (op == "avg" && d.rank == o.rootRank) divideForAvg(v[0], d.worldSize);
  return info.Env().Undefined();
}

// distAllGather(outputIds, inputId): each output k receives rank k's input.
Napi::Value distAllGather(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  std::vector<std::vector<at::Tensor>> out{argTensors(info, 0)};
  std::vector<at::Tensor> in{argTensor(info, 1).detach()};
  waitFor(d.pg->allgather(out, in), d, "all-gather");
  return info.Env().Undefined();
}

// distGather(outputIds (on dst; [] elsewhere), inputId, dst)
Napi::Value distGather(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::GatherOptions o;
  o.rootRank = argInt(info, 2);
  std::vector<std::vector<at::Tensor>> out;
  if (d.rank == o.rootRank) out.push_back(argTensors(info, 0));
  std::vector<at::Tensor> in{argTensor(info, 1).detach()};
  waitFor(d.pg->gather(out, in, o), d, "gather");
  return info.Env().Undefined();
}

// distScatter(outputId, inputIds (on src; [] elsewhere), src)
Napi::Value distScatter(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::ScatterOptions o;
  o.rootRank = argInt(info, 2);
  std::vector<at::Tensor> out{argTensor(info, 0).detach()};
  std::vector<std::vector<at::Tensor>> in;
  if (d.rank == o.rootRank) in.push_back(argTensors(info, 1));
  waitFor(d.pg->scatter(out, in, o), d, "scatter");
  return info.Env().Undefined();
}

// distReduceScatter(outputId, inputIds, op): output = the reduction over ranks of their input[rank]
Napi::Value distReduceScatter(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::ReduceScatterOptions o;
  std::string op = argString(info, 2);
  o.reduceOp = reduceOp(op);
  std::vector<at::Tensor> out{argTensor(info, 0).detach()};
  std::vector<std::vector<at::Tensor>> in{argTensors(info, 1)};
  waitFor(d.pg->reduce_scatter(out, in, o), d, "reduce-scatter");
  if (op == "avg") divideForAvg(out[0], d.worldSize);
  return info.Env().Undefined();
}

// distAllToAllSingle(outputId, inputId): input split in equal parts along dim 0, part k to rank k;
// output part k from rank k.
Napi::Value distAllToAllSingle(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  at::Tensor out = argTensor(info, 0).detach(), in = argTensor(info, 1).detach();
  std::vector<int64_t> none;
  waitFor(d.pg->alltoall_base(out, in, none, none), d, "all-to-all");
  return info.Env().Undefined();
}

// distSend(id, dst, tag)
Napi::Value distSend(const Napi::CallbackInfo& info) {
  DistState& d = state(info);
  std::vector<at::Tensor> v{argTensor(info, 0).detach().contiguous()};
  waitFor(d.pg->send(v, argInt(info, 1), argInt(info, 2)), d, "send");
  return info.Env().Undefined();
}

// distRecv(id, src (-1: any), tag): fills the tensor, in place; returns the sender's rank.
Napi::Value distRecv(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  at::Tensor t = argTensor(info, 0).detach();
  if (!t.is_contiguous()) throw std::runtime_error("distributed recv: the tensor must be contiguous");
  std::vector<at::Tensor> v{t};
  int src = argInt(info, 1), tag = argInt(info, 2);
  auto work = src < 0 ? d.pg->recvAnysource(v, tag) : d.pg->recv(v, src, tag);
  waitFor(work, d, "recv");
  return Napi::Number::New(info.Env(), src < 0 ? work->sourceRank() : src);
}

// distAllReduceGrads(paramIds, bucketBytes): averages the .grad of every parameter that has one.
Napi::Value distAllReduceGrads(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  std::vector<at::Tensor> grads;
  for (const at::Tensor& p : argTensors(info, 0)) {
    if (!p.grad().defined()) throw std::runtime_error("distributed: a trainable parameter has no gradient on this rank");
    grads.push_back(p.grad());
  }
  allReduceInPlace(state(info), grads, "avg", argInt64(info, 1));
  return info.Env().Undefined();
}

// distBroadcast(ids, root): every rank gets root's values, in place.
Napi::Value distBroadcast(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  c10d::BroadcastOptions o;
  o.rootRank = argInt(info, 1);
  for (const at::Tensor& t : argTensors(info, 0)) {
    // (Gloo has no bool, bfloat16, int16 or complex: a copy moves bytes, so those go as their bytes, in place)
    at::Tensor data = t.detach();
    switch (data.scalar_type()) {
      case at::kFloat: case at::kDouble: case at::kHalf: case at::kChar: case at::kByte: case at::kInt: case at::kLong: break;
      default:
        if (!data.is_contiguous()) throw std::runtime_error("distributed broadcast: a " + std::string(c10::toString(data.scalar_type())) + " tensor must be contiguous");
        data = data.flatten().view(at::kByte);
    }
    std::vector<at::Tensor> v{data};
    waitFor(d.pg->broadcast(v, o), d, "broadcast");
  }
  return info.Env().Undefined();
}

// distRegisterGradSync(paramIds, bucketBytes): buckets and hooks, once per training run.
Napi::Value distRegisterGradSync(const Napi::CallbackInfo& info) {
  DistState& d = state(info);
  if (d.sync) d.sync->active = false;  // an earlier registration's hooks go quiet
  auto g = std::make_shared<GradSync>();
  g->params = argTensors(info, 0);
  int64_t bucketBytes = argInt64(info, 1);
  size_t n = g->params.size();
  g->bucketOf.assign(n, 0);
  g->offset.assign(n, 0);
  int64_t used = 0;
  std::vector<int64_t> numel;
  for (size_t k = n; k-- > 0;) {
    const at::Tensor& p = g->params[k];
    if (p.scalar_type() != at::kFloat || p.device() != g->params[0].device()) throw std::runtime_error("gradient sync: float32 parameters, all on one device");
    if (numel.empty() || used + (int64_t)p.nbytes() > bucketBytes) {
      numel.push_back(0);
      g->size.push_back(0);
      used = 0;
    }
    g->bucketOf[k] = (int)numel.size() - 1;
    g->offset[k] = numel.back();
    numel.back() += p.numel();
    g->size.back() += 1;
    used += p.nbytes();
  }
  for (int64_t m : numel) g->buffers.push_back(at::zeros({m}, g->params[0].options().requires_grad(false)));
  g->pending = g->size;
  g->works.assign(g->buffers.size(), {});
  // Hooks hold weak references: they go quiet (not dangling) once the group is destroyed.
  std::weak_ptr<GradSync> weak = g;
  std::weak_ptr<DistState> weakState = table(info).dist;
  for (size_t k = 0; k < n; ++k) {
    g->params[k].register_hook([weak, weakState, k](const at::Tensor& grad) -> at::Tensor {
      auto s = weak.lock();
      auto st = weakState.lock();
      if (!s || !st || !s->active || !s->armed || !st->pg) return at::Tensor();
      int b = s->bucketOf[k];
      s->seen[k] = 1;
      at::Tensor slot = s->buffers[b].narrow(0, s->offset[k], grad.numel());
      slot.copy_(grad.reshape({-1}));
      // A tensor hook runs before autograd adds grad into .grad: add what earlier
      // (unsynchronised) backwards accumulated there.
      const at::Tensor& acc = s->params[k].grad();
      if (acc.defined()) slot.add_(acc.reshape({-1}));
      if (--s->pending[b] == 0) {
        std::vector<at::Tensor> v{s->buffers[b]};
        s->works[b] = st->pg->allreduce(v);
      }
      return at::Tensor();
    });
  }
  g->active = true;
  d.sync = g;
  return info.Env().Undefined();
}

// distPrepareGradSync(): before backward.
Napi::Value distPrepareGradSync(const Napi::CallbackInfo& info) {
  DistState& d = state(info);
  if (!d.sync) throw std::runtime_error("gradient sync: registerGradSync first");
  GradSync& g = *d.sync;
  for (auto& b : g.buffers) b.zero_();
  g.pending = g.size;
  g.seen.assign(g.params.size(), 0);
  for (auto& w : g.works) w.reset();
  g.armed = true;
  return info.Env().Undefined();
}

// distFinishGradSync(): after backward; every parameter's .grad becomes the mean over ranks.
Napi::Value distFinishGradSync(const Napi::CallbackInfo& info) {
  at::NoGradGuard ng;
  DistState& d = state(info);
  if (!d.sync) throw std::runtime_error("gradient sync: registerGradSync first");
  GradSync& g = *d.sync;
  if (!g.armed) throw std::runtime_error("gradient sync: finishGradSync without prepareGradSync before the backward");
  g.armed = false;
  for (size_t b = 0; b < g.buffers.size(); ++b) {
    if (!g.works[b]) {  // a bucket with a parameter that got no gradient now: send what it has
      for (size_t k = 0; k < g.params.size(); ++k) {
        const at::Tensor& acc = g.params[k].grad();
        if (g.bucketOf[k] == (int)b && !g.seen[k] && acc.defined()) g.buffers[b].narrow(0, g.offset[k], acc.numel()).copy_(acc.reshape({-1}));
      }
      std::vector<at::Tensor> v{g.buffers[b]};
      g.works[b] = d.pg->allreduce(v);
    }
    waitFor(g.works[b], d, "gradient all-reduce");
    g.buffers[b].div_(d.worldSize);
  }
  for (size_t k = 0; k < g.params.size(); ++k) {
    at::Tensor slice = g.buffers[g.bucketOf[k]].narrow(0, g.offset[k], g.params[k].numel()).view(g.params[k].sizes());
    at::Tensor& grad = g.params[k].mutable_grad();
    if (grad.defined()) grad.copy_(slice);
    else grad = slice.clone();
  }
  return info.Env().Undefined();
}

Napi::Value distBarrier(const Napi::CallbackInfo& info) {
  DistState& d = state(info);
  waitFor(d.pg->barrier(), d, "barrier");
  return info.Env().Undefined();
}

Napi::Value distDestroy(const Napi::CallbackInfo& info) {
  auto& d = table(info).dist;
  if (d && d->sync) d->sync->active = false;
  d.reset();
  return info.Env().Undefined();
}
#else
Napi::Value unavailable(const Napi::CallbackInfo&) {
  throw std::runtime_error("distributed: this build has no Gloo (install libgloo-dev and rebuild: npm run build:native)");
}
#define distInit unavailable
#define distAllReduce unavailable
#define distReduce unavailable
#define distAllGather unavailable
#define distGather unavailable
#define distScatter unavailable
#define distReduceScatter unavailable
#define distAllToAllSingle unavailable
#define distSend unavailable
#define distRecv unavailable
#define distAllReduceGrads unavailable
#define distBroadcast unavailable
#define distBarrier unavailable
#define distDestroy unavailable
#define distRegisterGradSync unavailable
#define distPrepareGradSync unavailable
#define distFinishGradSync unavailable
#endif

// distBackends(): the process-group backends this build has, e.g. ['gloo'] or ['gloo', 'nccl'].
Napi::Value distBackends(const Napi::CallbackInfo& info) {
  Napi::Array a = Napi::Array::New(info.Env());
#ifdef TSTORCH_WITH_C10D
  for (const char* name : {"gloo", "nccl"}) {
    if (hasBackend(name)) a.Set(a.Length(), name);
  }
#endif
  return a;
}

}  // namespace

void registerDist(Registrar& r) {
  r.add<distInit>("distInit");
  r.add<distAllReduce>("distAllReduce");
  r.add<distReduce>("distReduce");
  r.add<distAllGather>("distAllGather");
  r.add<distGather>("distGather");
  r.add<distScatter>("distScatter");
  r.add<distReduceScatter>("distReduceScatter");
  r.add<distAllToAllSingle>("distAllToAllSingle");
  r.add<distSend>("distSend");
  r.add<distRecv>("distRecv");
  r.add<distAllReduceGrads>("distAllReduceGrads");
  r.add<distBroadcast>("distBroadcast");
  r.add<distBarrier>("distBarrier");
  r.add<distDestroy>("distDestroy");
  r.add<distBackends>("distBackends");
  r.add<distRegisterGradSync>("distRegisterGradSync");
  r.add<distPrepareGradSync>("distPrepareGradSync");
  r.add<distFinishGradSync>("distFinishGradSync");
}

}  // namespace tstorch
