// The built-in models.
#include "models/registry.h"

#include "models/lenet.h"
#include "models/mobilenetv2.h"
#include "models/resnet18.h"
#include "models/resnet20.h"
#include "models/squeezenet.h"

namespace r2q::models {

void register_builtins(Registry<ModelEntry>& r) {
  r.add("lenet",
        {"LeNet-5 (tiny; tests and smoke runs)",
         [](const InputShape& s, const quant::LayerFactory& f) { return std::make_shared<LeNet>(s, f); }});
  r.add("resnet20",
        {"ResNet-20, CIFAR variant (He et al. 2016), option-A shortcuts",
         [](const InputShape& s, const quant::LayerFactory& f) { return std::make_shared<ResNet20>(s, f); }});
  r.add("mobilenetv2",
        {"MobileNetV2, CIFAR variant (Sandler et al. 2018): stride-1 stem and stage 2, width 1.0",
         [](const InputShape& s, const quant::LayerFactory& f) {
           return std::make_shared<MobileNetV2>(s, f);
         }});
  r.add(
      "squeezenet",
      {"SqueezeNet 1.1, CIFAR variant (Iandola et al. 2016): 3x3 stride-1 stem, no stem pooling",
       [](const InputShape& s, const quant::LayerFactory& f) { return std::make_shared<SqueezeNet>(s, f); }});
  r.add("resnet18",
        {"ResNet-18, ImageNet variant (He et al. 2016), option-B projection shortcuts",
         [](const InputShape& s, const quant::LayerFactory& f) { return std::make_shared<ResNet18>(s, f); }});
}

Registry<ModelEntry>& model_registry() {
  static Registry<ModelEntry> registry = [] {
    Registry<ModelEntry> r("model");
    register_builtins(r);
    return r;
  }();
  return registry;
}

NetworkPtr build_model(const std::string& name, const InputShape& shape, const quant::LayerFactory& layers) {
  return model_registry().get(name).build(shape, layers);
}

}  // namespace r2q::models
