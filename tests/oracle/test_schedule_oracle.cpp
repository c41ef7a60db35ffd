// train/schedule against PyTorch's own schedulers (torch.optim.lr_scheduler), stepped once per
// epoch: equal to sp's rate at each epoch's first step.
#include "sp/train/schedule.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>

namespace {

sp::TrainConfig config(sp::Schedule schedule) {
    sp::TrainConfig c;
    c.lr = 0.1;
    c.schedule = schedule;
    c.step_size = 3;
    c.gamma = 0.5;
    return c;
}

// Oracle: PyTorch's StepLR and CosineAnnealingLR, stepped once per epoch, give the rate at each
// epoch's first step.
TEST(ScheduleOracle, MatchesTorchSchedulersAtEpochStarts) {
    const char* script = R"PY(
import torch
def rates(make, n):
    p = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([p], lr=0.1)
    s = make(opt)
    out = []
    for _ in range(n):
        out.append(opt.param_groups[0]["lr"])
        opt.step(); s.step()
    return out
print(" ".join(repr(x) for x in rates(lambda o: torch.optim.lr_scheduler.StepLR(o, 3, 0.5), 10)))
print(" ".join(repr(x) for x in rates(lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 10), 10)))
)PY";
    const std::string cmd = std::string("/usr/bin/python3 -c '") + script + "' 2>/dev/null";
    FILE* p = popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
    if (pclose(p) != 0) GTEST_SKIP() << "/usr/bin/python3 with torch is not available";
    std::istringstream lines(out);
    for (const sp::Schedule schedule : {sp::Schedule::step, sp::Schedule::cosine}) {
        std::string line;
        std::getline(lines, line);
        std::istringstream values(line);
        for (int e = 0; e < 10; ++e) {
            double torch_lr = 0;
            values >> torch_lr;
            // PyTorch updates the cosine rate recursively: equal to the closed form to ~1e-16.
            EXPECT_NEAR(sp::learning_rate(config(schedule), 10, e, 0, 5), torch_lr, 1e-12)
                << sp::enum_name(schedule) << " epoch " << e;
        }
    }
}

} // namespace
