// Experiment specs: validation errors name the path and value; grid expansion; canonical form and run keys.
#include <gtest/gtest.h>

#include "core/spec/run_key.h"
#include "core/spec/schema.h"
#include "core/spec/spec.h"
#include "core/spec/teacher.h"
#include "core/util/error.h"

namespace r2q::spec {
namespace {

using nlohmann::json;

// Expects parse_experiment(text) to throw an InputError whose message contains every fragment.
void expect_error(const std::string& text, std::initializer_list<std::string> fragments) {
  try {
    parse_experiment(text, "spec.json");
    ADD_FAILURE() << "no error for " << text;
  } catch (const InputError& e) {
    for (const auto& f : fragments)
      EXPECT_NE(std::string(e.what()).find(f), std::string::npos) << e.what() << "\n  lacks: " << f;
  }
}

// Issue 15: a 100,000-deep document overflowed the stack in a recursive dump; nesting is limited first.
TEST(SpecErrors, DeepNestingIsRefusedBeforeParsing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_error(R"({"name": "x", "base": {"seed": )" + deep + "}}",
               {"spec.json: JSON nested 100002 levels deep", "at most 64"});
  expect_error(R"({"name": "x", "base": {"seed": )" + std::string(61, '[') + std::string(61, ']') + "}}",
               {"base.seed"});  // within the limit: the schema answers
}

TEST(SpecErrors, UnknownKeySuggestsTheRightOne) {
  expect_error(R"({"name": "x", "base": {"train": {"lrr": 0.1}}})",
               {"spec.json", "base.train.lrr", "unknown field \"train.lrr\"", "did you mean \"train.lr\""});
}

TEST(SpecErrors, WrongTypeNamesPathAndValue) {
  expect_error(R"({"name": "x", "base": {"train": {"epochs": "ten"}}})",
               {"base.train.epochs", "an integer", "\"ten\""});
  expect_error(R"({"name": "x", "base": {"train": {"augment": 1}}})",
               {"base.train.augment", "true or false", "got 1"});
  expect_error(R"({"name": "x", "base": {"train": 3}})", {"base.train", "expected an object", "got 3"});
}

TEST(SpecErrors, OutOfRangeAndNonIntegral) {
  expect_error(R"({"name": "x", "base": {"train": {"lr": -0.1}}})", {"base.train.lr", "(0, 100]", "-0.1"});
  expect_error(R"({"name": "x", "base": {"train": {"lr": 0}}})", {"base.train.lr", "got 0"});
  expect_error(R"({"name": "x", "base": {"train": {"epochs": 1.5}}})", {"base.train.epochs", "1.5"});
  expect_error(R"({"name": "x", "base": {"quant": {"weight_bits": 9}}})",
               {"base.quant.weight_bits", "[1, 8]", "9"});
  expect_error(R"({"name": "x", "base": {"eval": {"fgsm_eps": [0.1, 2]}}})", {"base.eval.fgsm_eps[1]", "2"});
  expect_error(R"({"name": "x", "base": {"train": {"lr": 1e999}}})", {"spec.json: invalid JSON", "1e999"});
}

TEST(SpecErrors, ChoicesAreListed) {
  expect_error(R"({"name": "x", "base": {"train": {"schedule": "linear"}}})",
               {"base.train.schedule", "\"cosine\", \"step\", \"constant\"", "\"linear\""});
}

TEST(SpecErrors, SyntaxDuplicatesAndTopLevel) {
  expect_error("{\"name\": \"x\",\n \"base\": {,}}", {"spec.json:2:", "invalid JSON"});
  expect_error(R"({"name": "x", "base": {"seed": 1, "seed": 2}})", {"duplicate key \"seed\""});
  expect_error(R"({"base": {}})", {"\"name\" is required"});
  expect_error(R"({"name": "a b"})", {"name", "\"a b\""});
  expect_error(R"({"name": "x", "grd": {}})", {"unknown top-level key \"grd\"", "did you mean \"grid\""});
  expect_error(R"([1, 2])", {"a spec is a JSON object"});
}

TEST(SpecErrors, GridValuesAreCheckedWhereWritten) {
  expect_error(R"({"name": "x", "grid": {"train.lr": [0.1, -1]}})", {"grid.train.lr[1]", "-1"});
  expect_error(R"({"name": "x", "grid": {"train.lr": 0.1}})", {"grid.train.lr", "non-empty list"});
  expect_error(R"({"name": "x", "grid": {"train.lr": []}})", {"grid.train.lr", "non-empty list"});
  expect_error(R"({"name": "x", "grid": {"train.lrate": [0.1]}})",
               {"grid.train.lrate", "did you mean \"train.lr\""});
  expect_error(R"({"name": "x", "include": [{"seed": -1}]})", {"seed=-1", "seed"});
  // An empty list in an include entry would add nothing, silently (issue 20).
  expect_error(R"({"name": "x", "include": [{"seed": []}]})", {"include[0]: seed", "non-empty list", "[]"});
  expect_error(R"({"name": "x", "exclude": [{"sed": 1}]})", {"exclude[0]", "unknown field \"sed\""});
}

TEST(SpecErrors, HugeGridsAreRefusedUnlessConfirmed) {
  std::string seeds = "[";
  for (int i = 0; i < 200; ++i) seeds += (i ? "," : "") + std::to_string(i);
  seeds += "]";
  std::string text =
      R"({"name": "x", "grid": {"seed": )" + seeds + R"(, "dataset.train_limit": )" + seeds + "}}";
  expect_error(text, {"more than 10000 runs", "--yes"});
  EXPECT_EQ(parse_experiment(text, "s", {.max_runs = 100000}).runs.size(), 40000u);
}

TEST(SpecGrid, CartesianProductFirstAxisSlowest) {
  auto exp = parse_experiment(R"({"name": "g", "base": {"quant": {"method": "r2q"}},
      "grid": {"quant.weight_bits": [2, 3, 4], "train.momentum": [0.0, 0.5],
               "train.lr": [0.01, 0.1, 1, 10], "seed": [0, 1, 2]}})",
                              "s");
  ASSERT_EQ(exp.runs.size(), 72u);
  EXPECT_EQ(exp.runs[0].config["seed"], 0);
  EXPECT_EQ(exp.runs[1].config["seed"], 1);
  EXPECT_EQ(exp.runs[0].config["quant"]["weight_bits"], 2);
  EXPECT_EQ(exp.runs[71].config["quant"]["weight_bits"], 4);
  EXPECT_EQ(exp.runs[1].label, "quant.weight_bits=2 train.momentum=0.0 train.lr=0.01 seed=1");
}

TEST(SpecGrid, IncludeAddsPointsAndListsExpand) {
  auto exp = parse_experiment(R"({"name": "g", "grid": {"seed": [0, 1]},
      "include": [{"quant.method": "dorefa"}, {"quant.method": "xnor", "quant.weight_bits": 1, "seed": [0, 1, 2]},
                  {"eval.fgsm_eps": [[0.1], [0.2, 0.3]]}]})",
                              "s");
  ASSERT_EQ(exp.runs.size(), 2u + 1 + 3 + 2);
  EXPECT_EQ(exp.runs[2].config["quant"]["method"], "dorefa");
  EXPECT_EQ(exp.runs[5].config["seed"], 2);
  EXPECT_EQ(exp.runs[6].config["eval"]["fgsm_eps"], json({0.1}));
  EXPECT_EQ(exp.runs[7].config["eval"]["fgsm_eps"], json({0.2, 0.3}));
}

TEST(SpecGrid, ExcludeRemovesMatchesAndReportsUnusedEntries) {
  auto exp = parse_experiment(R"({"name": "g",
      "grid": {"quant.method": ["r2q", "fp32"], "quant.weight_bits": [2, 3], "seed": [0, 1]},
      "exclude": [{"quant.method": "fp32", "quant.weight_bits": 3}, {"seed": 1, "quant.weight_bits": [2, 3],
                   "quant.method": "r2q"}, {"seed": 7}]})",
                              "s");
  // 8 points; fp32/3 removes 2, r2q/seed 1 removes 2; the seed 7 entry matches nothing.
  ASSERT_EQ(exp.runs.size(), 4u);
  EXPECT_EQ(exp.unused_excludes, std::vector<std::string>{R"({"seed":7})"});
}

TEST(SpecGrid, PointsThatResolveToTheSameRunAreOneRun) {
  // Bit-widths mean nothing for fp32: the grid has 6 points but 4 distinct runs.
  auto exp = parse_experiment(
      R"({"name": "g", "grid": {"quant.method": ["fp32", "r2q"], "quant.weight_bits": [2, 3, 4]}})", "s");
  EXPECT_EQ(exp.runs.size(), 4u);
  EXPECT_EQ(exp.duplicates, 2u);
  EXPECT_EQ(exp.runs[0].config["quant"]["weight_bits"], 32);
}

TEST(SpecResolve, DefaultsFilledAndObjectsMergeLeafByLeaf) {
  json config = default_config(), execution = default_execution();
  apply_override(config, execution, "loss.lipschitz", json{{"mode", "spectral"}}, "x");
  EXPECT_EQ(config["loss"]["lipschitz"]["mode"], "spectral");
  EXPECT_EQ(config["loss"]["lipschitz"]["weight"], 10.0);
  apply_override(config, execution, "threads", 3, "x");
  EXPECT_EQ(execution["threads"], 3);
  EXPECT_FALSE(config.contains("threads"));
}

TEST(SpecResolve, CanonicalNumbersAndLists) {
  auto a = resolve(
      json::parse(R"({"train": {"lr": 0.10, "epochs": 3.0}, "eval": {"fgsm_eps": [0.1, 0, 0.1, 0.03]}})"),
      "b");
  EXPECT_EQ(a.config["train"]["epochs"].type(), json::value_t::number_integer);
  EXPECT_EQ(a.config["eval"]["fgsm_eps"], json({0.0, 0.03, 0.1}));
  EXPECT_EQ(canonical_json(a.config["eval"]),
            R"({"backend":null,"fgsm_eps":[0.0,0.03,0.1],"pgd":{"eps":[],"step_size":0.0,"steps":10},)"
            R"("transfer":false})");
}

TEST(RunKey, SameConfigSameKeyWhateverTheSpelling) {
  auto a = resolve(json::parse(R"({"train": {"lr": 0.05, "epochs": 3}, "loss": {"ce": 1}})"), "a");
  auto b = resolve(json::parse(R"({"loss": {"ce": 1.0}, "train": {"epochs": 3.0, "lr": 5e-2}})"), "b");
  EXPECT_EQ(a.key, b.key);
  auto c = resolve(json::parse(R"({"train": {"lr": 0.05, "epochs": 4}})"), "c");
  EXPECT_NE(a.key, c.key);
}

TEST(RunKey, ExecutionSettingsDoNotChangeTheKey) {
  auto a = resolve(json::parse(R"({"threads": 1, "dataset": {"root": "/data/a"}})"), "a");
  auto b = resolve(json::parse(R"({"threads": 8})"), "b");
  EXPECT_EQ(a.key, b.key);
  EXPECT_EQ(a.execution["dataset"]["root"], "/data/a");
}

// These pins must only change on purpose: a changed key orphans every stored result of that config. If a
// default changes, bump kSemanticsVersion; if a field is added with a default that keeps old behaviour, only
// kDefaults below changes.
// The keys were checked against `printf 'r2q-run/1\n<canonical json>' | sha256sum`.
TEST(RunKey, PinnedKeys) {
  EXPECT_EQ(resolve(json::object(), "d").key,
            "fd03f0471169086cd4058db42d291db9e4ec143f13437eba193c4404d68991de");
  auto fixed = resolve(json::parse(R"({"dataset": {"name": "fashion-mnist", "train_limit": 10000},
      "model": {"name": "resnet20"}, "quant": {"method": "fp32"}, "train": {"epochs": 3, "lr": 0.05},
      "eval": {"fgsm_eps": [0, 0.03, 0.1]}, "seed": 1})"),
                       "f");
  EXPECT_EQ(
      canonical_json(sparse_config(fixed.config)),
      R"({"dataset":{"train_limit":10000},"eval":{"fgsm_eps":[0.0,0.03,0.1]},"quant":{"act_bits":32,)"
      R"("first_last_bits":32,"method":"fp32","weight_bits":32},"seed":1,"train":{"epochs":3,"lr":0.05}})");
  EXPECT_EQ(fixed.key, "066383d86305439c7c86654898290ae0a97dd38c452f700a225643faaf438405");
}

TEST(RunKey, PinnedDefaults) {
  const char* kDefaults =
      R"({"dataset":{"image_size":0,"name":"fashion-mnist","test_limit":0,"train_limit":0,"val_size":5000},)"
      R"("device":"cpu",)"
      R"("eval":{"backend":null,"fgsm_eps":[0.0,0.01,0.03,0.05,0.1],"pgd":{"eps":[],"step_size":0.0,"steps":10},)"
      R"("transfer":false},)"
      R"("loss":{"adversarial":0.0,"ce":1.0,"critic_lr":0.0001,"kd":0.0,"kd_temperature":4.0,)"
      R"("lipschitz":{"mode":"gp","weight":10.0},"n_critic":5,"perturbation":0.0,"perturbation_delta":"fgsm",)"
      R"("power_iterations":1,"spectral":0.0,"structural":0.0,"structural_angle":0.0,"train_eps":0.0},)"
      R"("model":{"name":"resnet20"},)"
      R"("quant":{"act_bits":2,"first_last_bits":8,"method":"r2q","weight_bits":2},"seed":0,)"
      R"("train":{"augment":true,"batch_size":128,"epochs":30,"init":"auto","lr":0.1,"momentum":0.9,)"
      R"("optimizer":"sgd","schedule":"cosine","weight_decay":0.0005}})";
  EXPECT_EQ(canonical_json(default_config()), kDefaults);
}

TEST(SpecNormalise, SettingsWithoutEffectDoNotMakeNewRuns) {
  auto key = [](const char* partial) { return resolve(json::parse(partial), "x").key; };
  const std::string plain = key("{}");
  // Knobs of terms that are off.
  EXPECT_EQ(key(R"({"loss": {"lipschitz": {"mode": "spectral", "weight": 1}, "n_critic": 2}})"), plain);
  EXPECT_EQ(key(R"({"loss": {"kd_temperature": 8, "structural_angle": 2, "train_eps": 0.03}})"), plain);
  EXPECT_EQ(key(R"({"eval": {"pgd": {"steps": 20, "step_size": 0.01}}})"), plain);
  EXPECT_EQ(key(R"({"train": {"init": "scratch"}})"), plain);
  // The Lipschitz weight matters only for the gradient penalty.
  EXPECT_NE(key(R"({"loss": {"adversarial": 1, "lipschitz": {"weight": 1}}})"),
            key(R"({"loss": {"adversarial": 1}})"));
  EXPECT_EQ(key(R"({"loss": {"adversarial": 1, "lipschitz": {"mode": "none", "weight": 1}}})"),
            key(R"({"loss": {"adversarial": 1, "lipschitz": {"mode": "none"}}})"));
  // "auto" is "teacher" when a teacher term is on.
  EXPECT_EQ(key(R"({"loss": {"kd": 1}, "train": {"init": "teacher"}})"), key(R"({"loss": {"kd": 1}})"));
  EXPECT_NE(key(R"({"loss": {"kd": 1}, "train": {"init": "scratch"}})"), key(R"({"loss": {"kd": 1}})"));
}

TEST(SpecTeacher, StudentsShareOneTeacherListedBeforeThem) {
  auto exp = parse_experiment(R"({"name": "t", "base": {"train": {"epochs": 3}},
      "grid": {"quant.method": ["r2q", "lsq"], "loss.kd": [0, 1]}})",
                              "s");
  // r2q (no kd), teacher, r2q+kd, lsq, lsq+kd.
  ASSERT_EQ(exp.runs.size(), 5u);
  EXPECT_TRUE(exp.runs[0].teacher_key.empty());
  const auto& teacher = exp.runs[1];
  EXPECT_TRUE(teacher.is_teacher);
  EXPECT_EQ(teacher.config["quant"]["method"], "fp32");
  EXPECT_EQ(teacher.config["loss"], default_config()["loss"]);
  EXPECT_EQ(teacher.config["train"]["epochs"], 3);
  EXPECT_EQ(exp.runs[2].teacher_key, teacher.key);
  EXPECT_EQ(exp.runs[4].teacher_key, teacher.key);
  EXPECT_EQ(exp.duplicates, 0u);
  EXPECT_TRUE(init_from_teacher(exp.runs[2].config));

  // A grid that has the FP32 run itself lists it once, where the grid puts it or earlier.
  auto with_fp32 = parse_experiment(R"({"name": "t",
      "grid": {"quant.method": ["r2q", "fp32"], "loss.kd": [1]}, "include": [{"quant.method": "fp32"}]})",
                                    "s");
  ASSERT_EQ(with_fp32.runs.size(), 3u);  // teacher (= the fp32 ce-only run), r2q+kd, fp32+kd
  EXPECT_EQ(with_fp32.runs[0].key, with_fp32.runs[1].teacher_key);
  EXPECT_EQ(with_fp32.duplicates, 0u);

  // Transfer evaluation needs the teacher but does not change initialisation.
  auto transfer = resolve(json::parse(R"({"eval": {"transfer": true}})"), "x");
  EXPECT_FALSE(transfer.teacher_key.empty());
  EXPECT_FALSE(init_from_teacher(transfer.config));
  EXPECT_TRUE(resolve(json::object(), "x").teacher_key.empty());
}

TEST(Schema, EveryDefaultIsValid) {
  for (const auto& f : fields()) EXPECT_NO_THROW(check_value(f, f.default_value, f.path)) << f.path;
}

}  // namespace
}  // namespace r2q::spec
