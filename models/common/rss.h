#pragma once
// Peak resident set size of this process, in MiB (from getrusage).
namespace pnm {
double peak_rss_mib();
}
