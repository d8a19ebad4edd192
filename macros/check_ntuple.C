// check_ntuple.C: check a ccreco-written ntuple from ROOT itself.
//
//   root -l -b -q 'macros/check_ntuple.C("file.root")'
//   root -l -b -q 'macros/check_ntuple.C("file.root", "sim", 2000, 1.0)'
//
// Reads every entry and checks: the tree and the waveform/sampling branches exist, every
// waveform has the same length (and expectedSamples when > 0), every sample is finite, the
// sampling period is positive, constant (and expectedSamplingNs when > 0), and, when the MC
// truth is present, that n_clusters equals the size of cluster_time_ns, n_electrons the size of
// electron_time_ns, and that electron_cluster indexes an existing cluster.
// Prints a summary; on any problem prints "FAIL: ..." lines, a final
// "check_ntuple: FAIL (N problems)" and exits with status 1. Success ends with "check_ntuple: OK".

#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "TFile.h"
#include "TObjString.h"
#include "TSystem.h"
#include "TTree.h"
#include "TTreeReader.h"
#include "TTreeReaderArray.h"
#include "TTreeReaderValue.h"

namespace {
int gProblems = 0;

void fail(const std::string &msg)
{
   ++gProblems;
   if (gProblems <= 20)
      std::printf("FAIL: %s\n", msg.c_str());
}

int finish()
{
   if (gProblems) {
      std::printf("check_ntuple: FAIL (%d problems)\n", gProblems);
      std::fflush(stdout);
      gSystem->Exit(1);
      return 1;
   }
   std::printf("check_ntuple: OK\n");
   return 0;
}
} // namespace

int check_ntuple(const char *path, const char *treeName = "sim", int expectedSamples = 0,
                 double expectedSamplingNs = 0.)
{
   gProblems = 0;
   std::unique_ptr<TFile> file(TFile::Open(path, "READ"));
   if (!file || file->IsZombie()) {
      fail(std::string("cannot open ") + path);
      return finish();
   }
   auto *tree = file->Get<TTree>(treeName);
   if (!tree) {
      fail(std::string("no tree '") + treeName + "' in " + path);
      return finish();
   }
   for (const char *name : {"waveform", "sampling_ns"}) {
      if (!tree->GetBranch(name))
         fail(std::string("missing branch '") + name + "' in tree '" + treeName + "'");
   }
   if (gProblems)
      return finish();
   const Long64_t n = tree->GetEntries();
   if (n == 0) {
      fail("tree has no entries");
      return finish();
   }
   const bool hasClusters = tree->GetBranch("n_clusters") && tree->GetBranch("cluster_time_ns");
   const bool hasElectrons = tree->GetBranch("n_electrons") && tree->GetBranch("electron_time_ns");
   const bool hasElCluster = hasClusters && tree->GetBranch("electron_cluster");

   TTreeReader reader(tree);
   TTreeReaderArray<float> waveform(reader, "waveform");
   TTreeReaderValue<double> sampling(reader, "sampling_ns");
   std::unique_ptr<TTreeReaderValue<int>> nClusters, nElectrons;
   std::unique_ptr<TTreeReaderArray<double>> clusterTime, electronTime;
   std::unique_ptr<TTreeReaderArray<int>> electronCluster;
   if (hasClusters) {
      nClusters = std::make_unique<TTreeReaderValue<int>>(reader, "n_clusters");
      clusterTime = std::make_unique<TTreeReaderArray<double>>(reader, "cluster_time_ns");
   }
   if (hasElectrons) {
      nElectrons = std::make_unique<TTreeReaderValue<int>>(reader, "n_electrons");
      electronTime = std::make_unique<TTreeReaderArray<double>>(reader, "electron_time_ns");
   }
   if (hasElCluster)
      electronCluster = std::make_unique<TTreeReaderArray<int>>(reader, "electron_cluster");

   size_t nSamples = 0;
   double period = 0.;
   Long64_t nonFinite = 0, firstNonFinite = -1, sumClusters = 0;
   char buf[256];
   while (reader.Next()) {
      const Long64_t entry = reader.GetCurrentEntry();
      if (reader.GetEntryStatus() != TTreeReader::kEntryValid) {
         std::snprintf(buf, sizeof buf, "entry %lld: cannot be read", entry);
         fail(buf);
         break;
      }
      const size_t len = waveform.GetSize();
      if (entry == 0) {
         nSamples = len;
         period = *sampling;
         if (expectedSamples > 0 && len != size_t(expectedSamples)) {
            std::snprintf(buf, sizeof buf, "waveform has %zu samples, expected %d", len, expectedSamples);
            fail(buf);
         }
         if (!(period > 0.)) {
            std::snprintf(buf, sizeof buf, "sampling_ns %g is not positive", period);
            fail(buf);
         }
         if (expectedSamplingNs > 0. && std::fabs(period - expectedSamplingNs) > 1e-6 * expectedSamplingNs) {
            std::snprintf(buf, sizeof buf, "sampling_ns %g, expected %g", period, expectedSamplingNs);
            fail(buf);
         }
      } else {
         if (len != nSamples) {
            std::snprintf(buf, sizeof buf, "entry %lld: waveform has %zu samples, entry 0 has %zu", entry, len, nSamples);
            fail(buf);
         }
         if (*sampling != period) {
            std::snprintf(buf, sizeof buf, "entry %lld: sampling_ns %g differs from entry 0 (%g)", entry, *sampling, period);
            fail(buf);
         }
      }
      for (size_t i = 0; i < len; ++i) {
         if (!std::isfinite(waveform[i])) {
            ++nonFinite;
            if (firstNonFinite < 0)
               firstNonFinite = entry;
         }
      }
      if (hasClusters) {
         sumClusters += **nClusters;
         if (size_t(**nClusters) != clusterTime->GetSize()) {
            std::snprintf(buf, sizeof buf, "entry %lld: n_clusters %d != size of cluster_time_ns %zu", entry,
                          **nClusters, clusterTime->GetSize());
            fail(buf);
         }
      }
      if (hasElectrons && size_t(**nElectrons) != electronTime->GetSize()) {
         std::snprintf(buf, sizeof buf, "entry %lld: n_electrons %d != size of electron_time_ns %zu", entry,
                       **nElectrons, electronTime->GetSize());
         fail(buf);
      }
      if (hasElCluster) {
         for (size_t i = 0; i < electronCluster->GetSize(); ++i) {
            const int c = (*electronCluster)[i];
            if (c < 0 || c >= **nClusters) {
               std::snprintf(buf, sizeof buf, "entry %lld: electron_cluster %d outside [0, %d)", entry, c, **nClusters);
               fail(buf);
               break;
            }
         }
      }
   }
   if (nonFinite) {
      std::snprintf(buf, sizeof buf, "%lld NaN/inf samples, first in entry %lld", nonFinite, firstNonFinite);
      fail(buf);
   }
   auto *meta = file->Get<TObjString>("ccreco_meta");
   std::printf("file:      %s\n", path);
   std::printf("tree:      %s, %lld entries\n", treeName, n);
   std::printf("waveform:  %zu samples, sampling %g ns\n", nSamples, period);
   std::printf("truth:     %s", hasClusters ? "yes" : "no");
   if (hasClusters)
      std::printf(" (mean n_clusters %.3f)", double(sumClusters) / double(n));
   std::printf("\nmetadata:  %s\n", meta ? meta->GetString().Data() : "none (not written by ccreco?)");
   return finish();
}
