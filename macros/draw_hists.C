// draw_hists.C: draw the histograms of a `ccreco reco` run (OUTDIR/hists.root) with ROOT.
//
//   root -l -b -q 'macros/draw_hists.C("OUTDIR/hists.root", "figures")'
//   root -l 'macros/draw_hists.C("OUTDIR/hists.root")'          (interactive: canvases stay open)
//
// Draws, on canvas "c_hists" (3 x 2 pads, stats boxes with entries/mean/RMS):
//   n_clusters (the step-2 ML count, CNN or per-peak model; the MC truth and DERIV counts
//   overlaid when the file has them),
//   dndx, n_peaks, peak_time, peak_amplitude, lstm_score;
// and, when the file has MC truth, on canvas "c_truth": the TH2D n_clusters_vs_true (COLZ, with
// the diagonal N_reco = N_true and the TProfile n_clusters_profile: mean ML count and its error
// per true count) next to the residual N_reco - N_true. With peak-level truth the lstm_score pad
// also shows lstm_score_signal / lstm_score_noise (candidates matched / not matched to a true peak).
// Titles and axis titles come from the histograms (ccreco writes them, ROOT TLatex, units in
// brackets). The provenance TObjString (ccreco version, model sha256, configuration as JSON) is
// summarized in one line "draw_hists: provenance: ...". Axes are zoomed to
// the filled bins. Each canvas is saved as OUTDIR/<canvas name without "c_">.png and .pdf
// (hists.png/.pdf, truth.png/.pdf); outdir is created if needed.
//
// Prints one line per histogram:
//   draw_hists: <name> entries <N> mean <M> rms <R>
// and "draw_hists: OK (<k> histograms, <m> files written)" at the end. On a missing file or a
// missing required histogram it prints "draw_hists: ERROR: ..." (naming the file, and the
// histograms the file does hold) and returns 1, which `root -q` turns into the exit status.

#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "TCanvas.h"
#include "TFile.h"
#include "TH1.h"
#include "TH2.h"
#include "TKey.h"
#include "TLegend.h"
#include "TLine.h"
#include "TObjString.h"
#include "TPaveStats.h"
#include "TProfile.h"
#include "TROOT.h"
#include "TStyle.h"
#include "TSystem.h"

namespace draw_hists_detail {

int error(const std::string &msg)
{
   std::printf("draw_hists: ERROR: %s\n", msg.c_str());
   std::fflush(stdout);
   return 1;
}

std::string keys_of(TFile &f)
{
   std::string out;
   for (auto *obj : *f.GetListOfKeys()) {
      auto *key = static_cast<TKey *>(obj);
      if (!out.empty())
         out += ", ";
      out += std::string(key->GetName()) + " (" + key->GetClassName() + ")";
   }
   return out.empty() ? "nothing" : out;
}

// A histogram from the file, detached from it (so it outlives the TFile); nullptr if absent.
template <class T>
T *get(TFile &f, const char *name)
{
   auto *h = f.Get<T>(name);
   if (!h)
      return nullptr;
   h->SetDirectory(nullptr);
   return h;
}

// Restrict the x axis to the filled bins, with a margin of 5% of that range.
void zoom_x(TH1 *h)
{
   int first = 0, last = 0;
   for (int i = 1; i <= h->GetNbinsX(); ++i) {
      if (h->GetBinContent(i) != 0.) {
         if (!first)
            first = i;
         last = i;
      }
   }
   if (!first)
      return;
   const int pad = std::max(1, int(0.05 * (last - first + 1)));
   h->GetXaxis()->SetRange(std::max(1, first - pad), std::min(h->GetNbinsX(), last + pad));
}

void print_summary(const TH1 *h)
{
   std::printf("draw_hists: %-18s entries %.0f mean %.4g rms %.4g\n", h->GetName(), h->GetEntries(), h->GetMean(),
               h->GetRMS());
}

void style_1d(TH1 *h, const char *ytitle, int color)
{
   h->UseCurrentStyle(); // read from a file: apply gStyle's axis title/label sizes and offsets
   if (!*h->GetTitle())
      h->SetTitle(h->GetXaxis()->GetTitle());
   if (!*h->GetYaxis()->GetTitle()) // ccreco writes the y-axis title (waveforms, peaks, ...)
      h->GetYaxis()->SetTitle(ytitle);
   h->SetLineColor(color);
   h->SetLineWidth(2);
   h->SetMinimum(0.);
   zoom_x(h);
}

// Every string value of "key":"value" in a flat scan of JSON text (enough for the provenance).
std::vector<std::string> json_values(const std::string &text, const std::string &key)
{
   std::vector<std::string> out;
   const std::string pat = "\"" + key + "\":\"";
   for (size_t at = text.find(pat); at != std::string::npos; at = text.find(pat, at + 1)) {
      const size_t begin = at + pat.size(), end = text.find('"', begin);
      if (end != std::string::npos)
         out.push_back(text.substr(begin, end - begin));
   }
   return out;
}

// Print the provenance TObjString ccreco writes (version, model hashes); nothing if absent.
void print_provenance(TFile &f, const char *prog)
{
   auto *p = f.Get<TObjString>("provenance");
   if (!p) {
      std::printf("%s: no provenance in the file\n", prog);
      return;
   }
   const std::string text = p->GetString().Data();
   const auto version = json_values(text, "ccreco_version");
   std::printf("%s: provenance: ccreco %s, %zu characters of JSON", prog,
               version.empty() ? "?" : version.front().c_str(), text.size());
   for (const auto &sha : json_values(text, "sha256"))
      std::printf(", model sha256 %s", sha.substr(0, 12).c_str());
   std::printf("\n");
}

} // namespace draw_hists_detail

int draw_hists(const char *file = "hists.root", const char *outdir = ".")
{
   using namespace draw_hists_detail;

   std::unique_ptr<TFile> f(TFile::Open(file, "READ"));
   if (!f || f->IsZombie())
      return error(std::string("cannot open ") + file + " (is it the hists.root written by `ccreco reco`?)");

   // name, y-axis title; every one of these must be present
   const std::vector<std::pair<const char *, const char *>> required = {
      {"n_clusters", "waveforms"}, {"dndx", "waveforms"},      {"n_peaks", "waveforms"},
      {"peak_time", "peaks"},      {"peak_amplitude", "peaks"}, {"lstm_score", "candidate windows"}};
   std::vector<TH1 *> hists;
   std::string missing;
   for (const auto &[name, ytitle] : required) {
      auto *h = get<TH1>(*f, name);
      if (!h || h->GetDimension() != 1)
         missing += std::string(missing.empty() ? "" : ", ") + name;
      hists.push_back(h);
   }
   if (!missing.empty())
      return error(std::string("no 1-D histogram ") + missing + " in " + file + "; the file holds: " + keys_of(*f));
   TH1 *truth = get<TH1>(*f, "n_clusters_true");
   TH1 *deriv = get<TH1>(*f, "deriv_n_clusters");
   TH2 *vs_true = get<TH2>(*f, "n_clusters_vs_true");
   TProfile *profile = get<TProfile>(*f, "n_clusters_profile");
   TH1 *residual = get<TH1>(*f, "residual");
   TH1 *score_signal = get<TH1>(*f, "lstm_score_signal");
   TH1 *score_noise = get<TH1>(*f, "lstm_score_noise");
   print_provenance(*f, "draw_hists");
   f.reset();

   if (gSystem->AccessPathName(outdir) && gSystem->mkdir(outdir, kTRUE) != 0)
      return error(std::string("cannot create output directory ") + outdir);

   gStyle->SetOptStat(1110); // entries, mean, RMS (no name: the pad title says it)
   gStyle->SetOptTitle(1);
   gStyle->SetPalette(kBird);
   gStyle->SetPadLeftMargin(0.15);
   gStyle->SetPadRightMargin(0.05);
   gStyle->SetPadBottomMargin(0.13);
   gStyle->SetTitleOffset(1.6, "y");
   gStyle->SetTitleSize(0.045, "xy");
   gStyle->SetLabelSize(0.04, "xy");

   int n_drawn = 0;
   std::vector<std::string> written;
   auto save = [&](TCanvas *c, const char *stem) {
      for (const char *ext : {"png", "pdf"}) {
         std::string path = std::string(outdir) + "/" + stem + "." + ext;
         c->SaveAs(path.c_str());
         written.push_back(path);
      }
   };

   auto *c = new TCanvas("c_hists", "ccreco reco: histograms", 1500, 900);
   c->Divide(3, 2);
   for (size_t i = 0; i < hists.size(); ++i) {
      TH1 *h = hists[i];
      c->cd(int(i) + 1);
      style_1d(h, required[i].second, kBlue + 1);
      print_summary(h);
      ++n_drawn;
      if (std::string(h->GetName()) != "n_clusters") {
         if (std::string(h->GetName()) == "lstm_score") { // most candidates are noise: log scale
            h->SetMinimum(0.5);
            h->SetMaximum(20. * h->GetMaximum()); // room for the legend
            gPad->SetLogy();
            h->Draw("HIST");
            if (score_signal && score_noise && score_signal->GetEntries() + score_noise->GetEntries() > 0) {
               // split by the MC truth: candidates matched / not matched to a true peak
               auto *leg = new TLegend(0.35, 0.72, 0.93, 0.88);
               leg->SetBorderSize(0);
               leg->SetFillStyle(0);
               leg->SetTextSize(0.04);
               leg->AddEntry(h, "all candidates", "l");
               for (auto [o, color, text] : {std::tuple<TH1 *, int, const char *>{score_signal, kRed + 1, "matched to a true peak"},
                                             std::tuple<TH1 *, int, const char *>{score_noise, kGray + 2, "no true peak"}}) {
                  style_1d(o, "candidate windows", color);
                  o->SetLineStyle(2);
                  o->Draw("HIST SAME");
                  leg->AddEntry(o, text, "l");
                  print_summary(o);
                  ++n_drawn;
               }
               leg->Draw();
            }
            continue;
         }
         h->Draw("HIST");
         continue;
      }
      // N_cl: the step-2 (ML) count with the truth and DERIV counts overlaid (same binning)
      h->SetTitle("N_{cl} per waveform");
      h->GetXaxis()->SetTitle("N_{cl}");
      double ymax = h->GetMaximum();
      for (TH1 *o : {truth, deriv})
         if (o)
            ymax = std::max(ymax, o->GetMaximum());
      h->SetMaximum(1.45 * ymax); // room for the legend
      if (truth)
         style_1d(truth, "waveforms", kBlack);
      if (deriv)
         style_1d(deriv, "waveforms", kRed + 1);
      int lo = h->GetXaxis()->GetFirst(), hi = h->GetXaxis()->GetLast(); // a range covering all of them
      for (TH1 *o : {truth, deriv}) {
         if (o) {
            lo = std::min(lo, o->GetXaxis()->GetFirst());
            hi = std::max(hi, o->GetXaxis()->GetLast());
         }
      }
      h->GetXaxis()->SetRange(lo, hi);
      h->Draw("HIST");
      auto *leg = new TLegend(0.16, 0.68, 0.52, 0.88);
      leg->SetBorderSize(0);
      leg->SetFillStyle(0);
      leg->SetTextSize(0.04);
      leg->AddEntry(h, "ML", "l");
      if (truth) {
         truth->SetLineStyle(2);
         truth->Draw("HIST SAME");
         leg->AddEntry(truth, "MC truth", "l");
         print_summary(truth);
         ++n_drawn;
      }
      if (deriv) {
         deriv->SetLineStyle(3);
         deriv->Draw("HIST SAME");
         leg->AddEntry(deriv, "DERIV + clusterization", "l");
         print_summary(deriv);
         ++n_drawn;
      }
      leg->Draw();
   }
   c->Update();
   save(c, "hists");

   if (vs_true) {
      auto *ct = new TCanvas("c_truth", "ccreco reco: reconstructed vs true N_cl", 1300, 600);
      ct->Divide(2, 1);
      ct->cd(1);
      gPad->SetRightMargin(0.15);
      if (!*vs_true->GetTitle())
         vs_true->SetTitle("N_{cl}: ML vs MC truth");
      // zoom both axes to the filled bins
      std::unique_ptr<TH1> px(vs_true->ProjectionX("_px_zoom")), py(vs_true->ProjectionY("_py_zoom"));
      zoom_x(px.get());
      zoom_x(py.get());
      const int lo = std::min(px->GetXaxis()->GetFirst(), py->GetXaxis()->GetFirst());
      const int hi = std::max(px->GetXaxis()->GetLast(), py->GetXaxis()->GetLast());
      vs_true->GetXaxis()->SetRange(lo, hi);
      vs_true->GetYaxis()->SetRange(lo, hi);
      vs_true->UseCurrentStyle();
      vs_true->SetStats(true);
      vs_true->Draw("COLZ");
      gPad->Update();
      if (auto *st = dynamic_cast<TPaveStats *>(vs_true->FindObject("stats"))) { // keep it off the palette
         st->SetX1NDC(0.16);
         st->SetX2NDC(0.42);
         st->SetY1NDC(0.72);
         st->SetY2NDC(0.88);
      }
      const double a = vs_true->GetXaxis()->GetBinLowEdge(lo), b = vs_true->GetXaxis()->GetBinUpEdge(hi);
      auto *diag = new TLine(a, a, b, b);
      diag->SetLineColor(kRed);
      diag->SetLineStyle(2);
      diag->SetLineWidth(2);
      diag->Draw();
      print_summary(vs_true);
      ++n_drawn;
      if (profile) { // mean ML count and its error per true count
         profile->SetLineColor(kRed + 1);
         profile->SetMarkerColor(kRed + 1);
         profile->SetMarkerStyle(20);
         profile->SetMarkerSize(0.8);
         profile->Draw("E1 SAME");
         print_summary(profile);
         ++n_drawn;
      }
      if (residual) {
         ct->cd(2);
         style_1d(residual, "waveforms", kBlue + 1);
         residual->Draw("HIST");
         print_summary(residual);
         ++n_drawn;
      }
      ct->Update();
      save(ct, "truth");
   } else {
      std::printf("draw_hists: no n_clusters_vs_true in %s (no MC truth): truth canvas not drawn\n", file);
   }
   std::printf("draw_hists: OK (%d histograms, %zu files written to %s)\n", n_drawn, written.size(), outdir);
   return 0;
}
