// The N-API surface, and the only file that touches JS values: argument checks, the async
// worker, and the conversion of plain fingerprint structs into JS objects.
// Exports: collect(options?) -> Promise<Result>, collectSync(options?) -> Result.
#include <napi.h>

#include <algorithm>
#include <exception>
#include <utility>

#include "fingerprint.h"

namespace {

using fingerprint::Fingerprint;
using fingerprint::Options;

#if defined(__linux__)
constexpr const char* kPlatform = "linux";
#elif defined(__APPLE__)
constexpr const char* kPlatform = "darwin";
#elif defined(_WIN32)
constexpr const char* kPlatform = "win32";
#else
constexpr const char* kPlatform = "unknown";
#endif

// Throws Napi::TypeError (the only exception this addon raises for caller mistakes).
Options parseOptions(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Options options;
  if (info.Length() > 1) throw Napi::TypeError::New(env, "expected at most one argument: options");
  if (info.Length() == 0 || info[0].IsUndefined()) return options;
  if (!info[0].IsObject() || info[0].IsArray() || info[0].IsFunction()) {
    throw Napi::TypeError::New(env, "options must be an object: { root?: string, include?: string[] }");
  }
  Napi::Object object = info[0].As<Napi::Object>();
  Napi::Array keys = object.GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    if (key != "root" && key != "include") {
      throw Napi::TypeError::New(env, "unknown option '" + key + "' (expected root, include)");
    }
  }
  Napi::Value root = object.Get("root");
  if (!root.IsUndefined()) {
    if (!root.IsString() || root.As<Napi::String>().Utf8Value().empty() ||
        root.As<Napi::String>().Utf8Value()[0] != '/') {
      throw Napi::TypeError::New(env, "options.root must be an absolute path");
    }
    options.root = root.As<Napi::String>().Utf8Value();
#if !defined(__linux__)
    if (options.root != "/") throw Napi::TypeError::New(env, "options.root other than '/' is supported on Linux only");
#endif
  }
  Napi::Value include = object.Get("include");
  if (!include.IsUndefined()) {
    if (!include.IsArray() || include.As<Napi::Array>().Length() == 0) {
      throw Napi::TypeError::New(env, "options.include must be a non-empty array of component ids");
    }
    Napi::Array ids = include.As<Napi::Array>();
    for (uint32_t i = 0; i < ids.Length(); ++i) {
      Napi::Value id = ids.Get(i);
      const auto& known = fingerprint::allComponentIds();
      if (!id.IsString() || std::find(known.begin(), known.end(), id.As<Napi::String>().Utf8Value()) == known.end()) {
        std::string list;
        for (const std::string& k : known) list += (list.empty() ? "" : ", ") + k;
        throw Napi::TypeError::New(env, "options.include: unknown component id (expected one of " + list + ")");
      }
      options.include.insert(id.As<Napi::String>().Utf8Value());
    }
  }
  return options;
}

void setIfNotEmpty(Napi::Object object, const char* key, const std::string& value) {
  if (!value.empty()) object.Set(key, value);
}

Napi::Array toArray(Napi::Env env, const std::vector<std::string>& values) {
  Napi::Array array = Napi::Array::New(env, values.size());
  for (size_t i = 0; i < values.size(); ++i) array.Set(static_cast<uint32_t>(i), values[i]);
  return array;
}

Napi::Object toJs(Napi::Env env, const Fingerprint& fp) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("platform", kPlatform);

  Napi::Object components = Napi::Object::New(env);
  for (const std::string& id : fingerprint::allComponentIds()) {  // catalogue order, not map order
    auto found = fp.components.find(id);
    if (found == fp.components.end()) continue;
    const fingerprint::Component& c = found->second;
    Napi::Object component = Napi::Object::New(env);
    component.Set("status", fingerprint::statusName(c.status));
    if (c.status == fingerprint::Status::Ok) {
      component.Set("value", c.isSet ? Napi::Value(toArray(env, c.values)) : Napi::Value(Napi::String::New(env, c.value)));
    }
    setIfNotEmpty(component, "detail", c.detail);
    components.Set(id, component);
  }
  result.Set("components", components);

  Napi::Object environment = Napi::Object::New(env);
  environment.Set("virtualized", fp.env.virtualized);
  setIfNotEmpty(environment, "hypervisorVendor", fp.env.hypervisorVendor);
  environment.Set("container", fp.env.container);
  setIfNotEmpty(environment, "containerRuntime", fp.env.containerRuntime);
  setIfNotEmpty(environment, "containerId", fp.env.containerId);
  setIfNotEmpty(environment, "cloud", fp.env.cloud);
  environment.Set("evidence", toArray(env, fp.env.evidence));
  result.Set("env", environment);

  Napi::Object hardware = Napi::Object::New(env);
  const fingerprint::CpuInfo& cpu = fp.hardware.cpu;
  if (cpu.present) {
    Napi::Object jsCpu = Napi::Object::New(env);
    jsCpu.Set("vendor", cpu.vendor);
    jsCpu.Set("family", cpu.family);
    jsCpu.Set("model", cpu.model);
    jsCpu.Set("stepping", cpu.stepping);
    jsCpu.Set("brand", cpu.brand);
    setIfNotEmpty(jsCpu, "processorId", cpu.processorId);
    hardware.Set("cpu", jsCpu);
  }
  Napi::Array disks = Napi::Array::New(env, fp.hardware.bootDisks.size());
  for (size_t i = 0; i < fp.hardware.bootDisks.size(); ++i) {
    const fingerprint::DiskInfo& d = fp.hardware.bootDisks[i];
    Napi::Object disk = Napi::Object::New(env);
    disk.Set("name", d.name);
    disk.Set("bus", d.bus);
    setIfNotEmpty(disk, "model", d.model);
    setIfNotEmpty(disk, "serial", d.serial);
    setIfNotEmpty(disk, "wwid", d.wwid);
    disks.Set(static_cast<uint32_t>(i), disk);
  }
  hardware.Set("bootDisks", disks);
  result.Set("hardware", hardware);
  return result;
}

// Execute() runs on the libuv pool and sees only plain C++ data (fingerprint.h);
// JS objects are built in OnOK() back on the main thread.
class CollectWorker : public Napi::AsyncWorker {
 public:
  CollectWorker(Napi::Env env, Options options)
      : Napi::AsyncWorker(env, "licensor:fingerprint"), deferred_(Napi::Promise::Deferred::New(env)),
        options_(std::move(options)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

  void Execute() override {
    try {
      result_ = fingerprint::collect(options_);
    } catch (const std::exception& error) {
      SetError(std::string("fingerprint collection failed: ") + error.what());
    }
  }

  void OnOK() override { deferred_.Resolve(toJs(Env(), result_)); }
  void OnError(const Napi::Error& error) override { deferred_.Reject(error.Value()); }

 private:
  Napi::Promise::Deferred deferred_;
  Options options_;
  Fingerprint result_;
};

Napi::Value Collect(const Napi::CallbackInfo& info) {
  auto* worker = new CollectWorker(info.Env(), parseOptions(info));  // freed by AsyncWorker after OnOK/OnError
  worker->Queue();
  return worker->Promise();
}

Napi::Value CollectSync(const Napi::CallbackInfo& info) {
  const Options options = parseOptions(info);
  Fingerprint fp;
  try {
    fp = fingerprint::collect(options);
  } catch (const std::exception& error) {
    throw Napi::Error::New(info.Env(), std::string("fingerprint collection failed: ") + error.what());
  }
  return toJs(info.Env(), fp);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("collect", Napi::Function::New(env, Collect, "collect"));
  exports.Set("collectSync", Napi::Function::New(env, CollectSync, "collectSync"));
  return exports;
}

}  // namespace

NODE_API_MODULE(licensor_fingerprint, Init)
