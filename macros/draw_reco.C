// draw_reco.C: look at the per-waveform TTree of a `ccreco reco` run (OUTDIR/reco.root) with ROOT.
//
//   root -l -b -q 'macros/draw_reco.C("OUTDIR/reco.root", "figures")'
//   root -l 'macros/draw_reco.C("OUTDIR/reco.root")'          (interactive: the canvas stays open)
//
// Prints the tree title, the number of entries (one per waveform), every branch with its type,
// every branch's title (what it holds, with its unit), the entries per input file (branch
// file_index: the index into summary.json's "inputs"; event numbers repeat across files), and
// the provenance TObjString (ccreco version, model sha256, configuration as JSON); then draws
// with TTree::Draw, on canvas "c_reco" (3 x 2 pads):
//   n_clusters (step-2 ML count), dndx, n_peaks, the jagged peak_time_ns (every detected peak),
//   n_clusters:n_clusters_true (COLZ with the diagonal) when the tree has MC truth,
//   and n_peaks:n_clusters otherwise next to it.
// Saves OUTDIR/reco.png; outdir is created if needed. Each drawn quantity gets one line
//   draw_reco: <expression> entries <N> mean <M> rms <R>
// and the macro ends with "draw_reco: OK". A missing file, tree or branch prints
// "draw_reco: ERROR: ..." and returns 1 (the exit status under `root -q`).
//
// The same tree can be explored by hand, e.g.
//   reco->Draw("dndx", "n_clusters_true > 10");
//   reco->Draw("peak_amplitude_mv:peak_time_ns", "", "COLZ");
//   reco->Scan("file_index:run:event:n_peaks:n_clusters:dndx");
//   reco->Draw("n_clusters", "file_index == 1");             (one input file)
//   ROOT::RDataFrame("reco", "OUTDIR/reco.root").Mean("dndx")

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <string>

#include "TCanvas.h"
#include "TFile.h"
#include "TH1.h"
#include "TH2.h"
#include "TBranch.h"
#include "TLeaf.h"
#include "TObjString.h"
#include "TLine.h"
#include "TROOT.h"
#include "TStyle.h"
#include "TSystem.h"
#include "TTree.h"

namespace draw_reco_detail {

int error(const std::string &msg)
{
   std::printf("draw_reco: ERROR: %s\n", msg.c_str());
   std::fflush(stdout);
   return 1;
}

// "(nbins,lo,hi)" covering the values of a branch: unit bins centred on integers when
// `integer`, else `nbins` bins (TTree::Draw's automatic binning splits integer-like values).
std::string binning(TTree *t, const char *branch, bool integer, int nbins = 50)
{
   double lo = t->GetMinimum(branch), hi = t->GetMaximum(branch);
   if (!(hi >= lo))
      return "";
   if (integer) {
      lo = std::floor(lo) - 0.5;
      hi = std::ceil(hi) + 0.5;
      nbins = int(hi - lo + 0.5);
   } else {
      const double pad = hi > lo ? 0.05 * (hi - lo) : 0.5;
      lo -= pad;
      hi += pad;
   }
   char buf[128];
   std::snprintf(buf, sizeof buf, "(%d,%g,%g)", nbins, lo, hi);
   return buf;
}

// TTree::Draw into a named histogram; returns it (nullptr when the expression fails).
TH1 *draw(TTree *t, const char *expr, const char *hname, const char *title, const char *opt = "HIST",
          const std::string &bins = "")
{
   const std::string target = std::string(expr) + ">>" + hname + bins;
   if (t->Draw(target.c_str(), "", opt) < 0)
      return nullptr;
   auto *h = static_cast<TH1 *>(gDirectory->Get(hname));
   if (!h)
      return nullptr;
   h->SetTitle(title);
   h->SetLineWidth(2);
   h->SetLineColor(kBlue + 1);
   std::printf("draw_reco: %-32s entries %.0f mean %.4g rms %.4g\n", expr, h->GetEntries(), h->GetMean(),
               h->GetRMS());
   return h;
}

} // namespace draw_reco_detail

int draw_reco(const char *file = "reco.root", const char *outdir = ".")
{
   using namespace draw_reco_detail;

   std::unique_ptr<TFile> f(TFile::Open(file, "READ"));
   if (!f || f->IsZombie())
      return error(std::string("cannot open ") + file + " (is it the reco.root written by `ccreco reco`?)");
   auto *t = f->Get<TTree>("reco");
   if (!t)
      return error(std::string("no TTree 'reco' in ") + file);
   for (const char *b : {"n_clusters", "dndx", "n_peaks", "peak_time_ns"}) {
      if (!t->GetBranch(b))
         return error(std::string("no branch '") + b + "' in tree 'reco' of " + file);
   }
   const Long64_t n = t->GetEntries();
   std::printf("draw_reco: %s: tree reco, %lld entries\n", file, n);
   std::printf("draw_reco: title: %s\n", t->GetTitle());
   std::printf("draw_reco: branches:");
   for (auto *obj : *t->GetListOfLeaves()) {
      auto *leaf = static_cast<TLeaf *>(obj);
      std::printf(" %s/%s%s", leaf->GetName(), leaf->GetTypeName(), leaf->GetLeafCount() ? "[]" : "");
   }
   std::printf("\n");
   for (auto *obj : *t->GetListOfBranches())
      std::printf("draw_reco: branch %-18s %s\n", obj->GetName(), obj->GetTitle());
   if (t->GetBranch("file_index") && n > 0) {
      const int last = int(t->GetMaximum("file_index"));
      for (int i = 0; i <= last; ++i)
         std::printf("draw_reco: file_index %d entries %lld\n", i, t->GetEntries(Form("file_index == %d", i)));
   }
   if (auto *prov = f->Get<TObjString>("provenance")) {
      const std::string text = prov->GetString().Data();
      const std::string key = "\"ccreco_version\":\"";
      const size_t at = text.find(key);
      std::printf("draw_reco: provenance: ccreco %s, %zu characters of JSON\n",
                  at == std::string::npos ? "?" : text.substr(at + key.size(), text.find('"', at + key.size()) - at - key.size()).c_str(),
                  text.size());
   } else {
      std::printf("draw_reco: no provenance in the file\n");
   }
   if (gSystem->AccessPathName(outdir) && gSystem->mkdir(outdir, kTRUE) != 0)
      return error(std::string("cannot create output directory ") + outdir);

   gStyle->SetOptStat(1110);
   gStyle->SetPalette(kBird);
   gStyle->SetPadLeftMargin(0.15);
   gStyle->SetPadRightMargin(0.12);
   gStyle->SetPadBottomMargin(0.13);
   gStyle->SetTitleOffset(1.6, "y");
   gROOT->cd(); // TTree::Draw's histograms live in memory, not in the (read-only) file

   auto *c = new TCanvas("c_reco", "ccreco reco: per-waveform tree", 1500, 900);
   c->Divide(3, 2);
   struct Item {
      const char *expr, *hname, *title;
      bool integer;
      int nbins;
   };
   const Item items[] = {{"n_clusters", "h_n_clusters", "N_{cl} (ML);N_{cl};waveforms", true, 0},
                         {"dndx", "h_dndx", "dN_{cl}/dx;dN_{cl}/dx [cm^{-1}];waveforms", false, 40},
                         {"n_peaks", "h_n_peaks", "detected peaks;peaks per waveform;waveforms", true, 0},
                         {"peak_time_ns", "h_peak_time", "detected peak times;peak time [ns];peaks", false, 100}};
   int pad = 0;
   for (const auto &it : items) {
      c->cd(++pad);
      if (!draw(t, it.expr, it.hname, it.title, "HIST", binning(t, it.expr, it.integer, it.nbins)))
         return error(std::string("TTree::Draw(\"") + it.expr + "\") failed on " + file);
   }
   c->cd(++pad);
   const bool truth = t->GetBranch("n_clusters_true") != nullptr;
   const char *expr2 = truth ? "n_clusters:n_clusters_true" : "n_peaks:n_clusters";
   std::string bins2;
   if (truth) { // the same unit bins on both axes, so that the diagonal is the diagonal
      const double lo = std::floor(std::min(t->GetMinimum("n_clusters"), t->GetMinimum("n_clusters_true"))) - 0.5;
      const double hi = std::ceil(std::max(t->GetMaximum("n_clusters"), t->GetMaximum("n_clusters_true"))) + 0.5;
      char buf[160];
      std::snprintf(buf, sizeof buf, "(%d,%g,%g,%d,%g,%g)", int(hi - lo + 0.5), lo, hi, int(hi - lo + 0.5), lo, hi);
      bins2 = buf;
   }
   auto *h2 = static_cast<TH2 *>(draw(t, expr2, "h_2d",
                                      truth ? "N_{cl}: ML vs MC truth;N_{cl} (MC truth);N_{cl} (ML)"
                                            : "peaks vs N_{cl};N_{cl} (ML);detected peaks",
                                      "COLZ", bins2));
   if (!h2)
      return error(std::string("TTree::Draw(\"") + expr2 + "\") failed on " + file);
   if (truth) {
      const double lo = std::max(h2->GetXaxis()->GetXmin(), h2->GetYaxis()->GetXmin());
      const double hi = std::min(h2->GetXaxis()->GetXmax(), h2->GetYaxis()->GetXmax());
      auto *diag = new TLine(lo, lo, hi, hi);
      diag->SetLineColor(kRed);
      diag->SetLineStyle(2);
      diag->SetLineWidth(2);
      diag->Draw();
   } else {
      std::printf("draw_reco: no n_clusters_true branch (no MC truth): drew n_peaks:n_clusters instead\n");
   }
   c->cd(++pad);
   if (!draw(t, "peak_amplitude_mv", "h_peak_amplitude", "detected peak amplitudes;amplitude [mV];peaks"))
      std::printf("draw_reco: no peak_amplitude_mv branch: pad left empty\n");
   c->Update();
   const std::string png = std::string(outdir) + "/reco.png";
   c->SaveAs(png.c_str());
   std::printf("draw_reco: OK (%lld entries, wrote %s)\n", n, png.c_str());
   return 0;
}
