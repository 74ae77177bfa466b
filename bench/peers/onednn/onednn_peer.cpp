// oneDNN peer of recur: the cases of ../cases.json (defined in ../CASES.md) on oneDNN's RNN
// primitives (vanilla RNN, LSTM, linear-before-reset GRU), forward_training + backward (full
// BPTT), fp32, CPU, with a dense head and summed softmax cross-entropy on dnnl_sgemm.
//
//   onednn_peer [--cases ID,...] [--min-time S] [--min-reps N] [--warmup N] [--threads N]
//               [--cases-file PATH] [--out FILE]        one JSON line per case on stdout
//   onednn_peer check                                   tiny cases against a double-precision BPTT
//
// Build and flags: Makefile beside this file. Threads: OMP_NUM_THREADS, or --threads N (set with
// omp_set_num_threads before any primitive exists, which is when oneDNN reads it).

#include <dnnl.hpp>
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#ifndef PEER_BUILD_FLAGS
#define PEER_BUILD_FLAGS "unknown"
#endif

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

[[noreturn]] static void usage_error(const std::string &msg) {
    fprintf(stderr, "onednn_peer: %s\n", msg.c_str());
    exit(2);
}

// ------------------------------------------------------------------ a small JSON reader
// Enough for cases.json (objects, arrays, strings without unicode escapes, numbers, literals);
// a dependency for one file of our own would cost more than these lines.

struct Json {
    enum Kind { Null, Bool, Num, Str, Arr, Obj } kind = Null;
    bool b = false;
    double num = 0;
    std::string str;
    std::vector<Json> arr;
    std::map<std::string, Json> obj;

    const Json &at(const std::string &k) const {
        auto it = obj.find(k);
        if (kind != Obj || it == obj.end()) throw std::runtime_error("cases.json: missing field '" + k + "'");
        return it->second;
    }
    bool has(const std::string &k) const { return kind == Obj && obj.count(k) && obj.at(k).kind != Null; }
    long i() const { return (long)num; }
};

struct JsonParser {
    const std::string &s;
    size_t p = 0;
    explicit JsonParser(const std::string &text) : s(text) {}
    [[noreturn]] void fail(const char *what) {
        throw std::runtime_error("cases.json: " + std::string(what) + " at character " + std::to_string(p));
    }
    void ws() { while (p < s.size() && isspace((unsigned char)s[p])) ++p; }
    Json value() {
        ws();
        if (p >= s.size()) fail("unexpected end");
        Json v;
        char c = s[p];
        if (c == '{') {
            v.kind = Json::Obj;
            ++p;
            ws();
            if (s[p] == '}') { ++p; return v; }
            for (;;) {
                ws();
                std::string k = string();
                ws();
                if (s[p++] != ':') fail("expected ':'");
                v.obj[k] = value();
                ws();
                if (s[p] == ',') { ++p; continue; }
                if (s[p++] != '}') fail("expected ',' or '}'");
                return v;
            }
        } else if (c == '[') {
            v.kind = Json::Arr;
            ++p;
            ws();
            if (s[p] == ']') { ++p; return v; }
            for (;;) {
                v.arr.push_back(value());
                ws();
                if (s[p] == ',') { ++p; continue; }
                if (s[p++] != ']') fail("expected ',' or ']'");
                return v;
            }
        } else if (c == '"') {
            v.kind = Json::Str;
            v.str = string();
        } else if (s.compare(p, 4, "true") == 0) {
            v.kind = Json::Bool; v.b = true; p += 4;
        } else if (s.compare(p, 5, "false") == 0) {
            v.kind = Json::Bool; p += 5;
        } else if (s.compare(p, 4, "null") == 0) {
            p += 4;
        } else {
            char *end = nullptr;
            v.kind = Json::Num;
            v.num = strtod(s.c_str() + p, &end);
            if (end == s.c_str() + p) fail("expected a value");
            p = end - s.c_str();
        }
        return v;
    }
    std::string string() {
        if (s[p] != '"') fail("expected a string");
        std::string out;
        for (++p; p < s.size() && s[p] != '"'; ++p) {
            if (s[p] == '\\') {
                ++p;
                if (s[p] == 'u') fail("\\u escapes are not supported");
                out += s[p] == 'n' ? '\n' : s[p] == 't' ? '\t' : s[p];
            } else {
                out += s[p];
            }
        }
        if (p >= s.size()) fail("unterminated string");
        ++p;
        return out;
    }
};

// ------------------------------------------------------------------ cases

enum class Cell { RnnTanh, RnnRelu, Lstm, Gru };

struct Case {
    std::string id;
    Cell cell = Cell::RnnTanh;
    int layers = 1;
    bool bi = false;
    int H = 0, B = 0, T = 0;
    bool packed = false;         // per-sequence lengths in cases.json: oneDNN runs them at full T
    long steps_per_iteration = 0;
    long flops_per_step = 0;
};

static Cell parse_cell(const std::string &c) {
    if (c == "rnn_tanh") return Cell::RnnTanh;
    if (c == "rnn_relu") return Cell::RnnRelu;
    if (c == "lstm") return Cell::Lstm;
    if (c == "gru") return Cell::Gru;
    throw std::runtime_error("cases.json: unknown cell '" + c + "'");
}

static const char *cell_name(Cell c) {
    switch (c) {
        case Cell::RnnTanh: return "rnn_tanh";
        case Cell::RnnRelu: return "rnn_relu";
        case Cell::Lstm: return "lstm";
        default: return "gru";
    }
}

static std::vector<Case> load_cases(const std::string &path) {
    std::ifstream in(path);
    if (!in) usage_error("--cases-file " + path + ": cannot read it, expected bench/peers/cases.json");
    std::stringstream ss;
    ss << in.rdbuf();
    std::string text = ss.str();
    Json root = JsonParser(text).value();
    if (root.at("format").i() != 1) throw std::runtime_error("cases.json: format is not 1");
    if (root.at("input").i() != 64 || root.at("output").i() != 64)
        throw std::runtime_error("cases.json: input/output are not 64");
    std::vector<Case> out;
    for (const Json &j : root.at("cases").arr) {
        Case c;
        c.id = j.at("id").str;
        c.cell = parse_cell(j.at("cell").str);
        c.layers = (int)j.at("layers").i();
        c.bi = j.at("bidirectional").b;
        c.H = (int)j.at("hidden").i();
        c.B = (int)j.at("batch").i();
        c.T = (int)j.at("steps").i();
        c.packed = j.has("lengths");
        c.steps_per_iteration = j.at("steps_per_iteration").i();
        c.flops_per_step = j.at("flops_per_step").i();
        out.push_back(c);
    }
    return out;
}

// ------------------------------------------------------------------ the network on oneDNN

static int gates(Cell c) { return c == Cell::Lstm ? 4 : c == Cell::Gru ? 3 : 1; }
// linear-before-reset GRU has a 4th bias block: the one inside r * (W_o h + b)
static int bias_gates(Cell c) { return c == Cell::Lstm ? 4 : c == Cell::Gru ? 4 : 1; }

static double uniform_init(std::mt19937 &rng, double a) {
    return std::uniform_real_distribution<double>(-a, a)(rng);
}

// One layer: both directions of it when bidirectional (oneDNN's bidirectional_concat writes the
// two outputs side by side, forward direction first: PyTorch's layout). A stack is one of these
// per layer, because oneDNN's own multi-layer bidirectional stack feeds each direction only its
// own direction's output, where PyTorch feeds the concatenation.
struct Layer {
    Cell cell;
    int in, H, B, T, D;
    engine eng;
    // host weights, plain: weights ldigo [d][in][g][H], iter ldigo [d][H][g][H], bias ldgo [d][gb][H]
    std::vector<float> wl, wi, bias;
    rnn_primitive_desc_base fpd, bpd;
    primitive fwd, bwd;
    memory fw_wl, fw_wi, bw_wl, bw_wi, bias_m, ws;
    memory src_iter, src_iter_c, diff_src_iter, diff_src_iter_c;   // explicit zeros (see below)
    memory diff_wl, diff_wi, diff_bias;
    memory src, dst, diff_src, diff_dst;                           // (T, B, C) tnc, shared with neighbours

    Layer(Cell c, int in_, int H_, int B_, int T_, int D_, const engine &e, std::mt19937 &rng)
        : cell(c), in(in_), H(H_), B(B_), T(T_), D(D_), eng(e) {
        const int G = gates(c), GB = bias_gates(c);
        double a = 1.0 / std::sqrt((double)H);
        wl.resize((size_t)D * in * G * H);
        wi.resize((size_t)D * H * G * H);
        bias.resize((size_t)D * GB * H);
        for (auto *v : {&wl, &wi, &bias})
            for (float &x : *v) x = (float)uniform_init(rng, a);

        memory::desc src_md({T, B, in}, dt::f32, tag::tnc), dst_md({T, B, D * H}, dt::f32, tag::tnc);
        memory::desc wl_any({1, D, in, G, H}, dt::f32, tag::any), wi_any({1, D, H, G, H}, dt::f32, tag::any);
        memory::desc b_md({1, D, GB, H}, dt::f32, tag::ldgo);
        // h0 = 0 as an explicit all-zero src_iter: with a zero memory descriptor (the documented way
        // to say h0 = 0) oneDNN 2.6.3 returns a wrong diff_weights_iter for every cell, and here
        // wrong Elman and GRU results altogether (README.md). The check mode catches it.
        memory::desc it_md({1, D, B, H}, dt::f32, tag::ldnc), none;
        memory::desc itc_md = c == Cell::Lstm ? it_md : none;
        rnn_direction dir = D == 2 ? rnn_direction::bidirectional_concat : rnn_direction::unidirectional_left2right;
        auto fk = prop_kind::forward_training, bk = prop_kind::backward;
        switch (c) {
            case Cell::RnnTanh:
            case Cell::RnnRelu: {
                algorithm act = c == Cell::RnnTanh ? algorithm::eltwise_tanh : algorithm::eltwise_relu;
                vanilla_rnn_forward::primitive_desc f(
                        {fk, act, dir, src_md, it_md, wl_any, wi_any, b_md, dst_md, none}, eng);
                vanilla_rnn_backward::primitive_desc b(
                        {bk, act, dir, src_md, it_md, wl_any, wi_any, b_md, dst_md, none,
                         src_md, it_md, wl_any, wi_any, b_md, dst_md, none}, eng, f);
                fwd = vanilla_rnn_forward(f);
                bwd = vanilla_rnn_backward(b);
                fpd = f;
                bpd = b;
                break;
            }
            case Cell::Lstm: {
                lstm_forward::primitive_desc f(
                        {fk, dir, src_md, it_md, itc_md, wl_any, wi_any, b_md, dst_md, none, none}, eng);
                lstm_backward::primitive_desc b(
                        {bk, dir, src_md, it_md, itc_md, wl_any, wi_any, b_md, dst_md, none, none,
                         src_md, it_md, itc_md, wl_any, wi_any, b_md, dst_md, none, none}, eng, f);
                fwd = lstm_forward(f);
                bwd = lstm_backward(b);
                fpd = f;
                bpd = b;
                break;
            }
            case Cell::Gru: {
                lbr_gru_forward::primitive_desc f(
                        {fk, dir, src_md, it_md, wl_any, wi_any, b_md, dst_md, none}, eng);
                lbr_gru_backward::primitive_desc b(
                        {bk, dir, src_md, it_md, wl_any, wi_any, b_md, dst_md, none,
                         src_md, it_md, wl_any, wi_any, b_md, dst_md, none}, eng, f);
                fwd = lbr_gru_forward(f);
                bwd = lbr_gru_backward(b);
                fpd = f;
                bpd = b;
                break;
            }
        }
        stream s(eng);
        // Weights reach the primitives' preferred layouts once, outside the timing: an iteration
        // here has no optimiser step, so the weights never change (a training loop would pay these
        // reorders after every update).
        memory wl_plain({{1, D, in, G, H}, dt::f32, tag::ldigo}, eng, wl.data());
        memory wi_plain({{1, D, H, G, H}, dt::f32, tag::ldigo}, eng, wi.data());
        fw_wl = memory(fpd.weights_layer_desc(), eng);
        fw_wi = memory(fpd.weights_iter_desc(), eng);
        bw_wl = memory(bpd.weights_layer_desc(), eng);
        bw_wi = memory(bpd.weights_iter_desc(), eng);
        reorder(wl_plain, fw_wl).execute(s, wl_plain, fw_wl);
        reorder(wi_plain, fw_wi).execute(s, wi_plain, fw_wi);
        reorder(wl_plain, bw_wl).execute(s, wl_plain, bw_wl);
        reorder(wi_plain, bw_wi).execute(s, wi_plain, bw_wi);
        s.wait();
        bias_m = memory(fpd.bias_desc(), eng);
        memcpy(bias_m.get_data_handle(), bias.data(), bias.size() * sizeof(float));
        ws = memory(fpd.workspace_desc(), eng);
        src_iter = zeros(it_md);
        diff_src_iter = zeros(it_md);
        if (c == Cell::Lstm) {
            src_iter_c = zeros(it_md);
            diff_src_iter_c = zeros(it_md);
        }
        diff_wl = memory(bpd.diff_weights_layer_desc(), eng);
        diff_wi = memory(bpd.diff_weights_iter_desc(), eng);
        diff_bias = memory(bpd.diff_bias_desc(), eng);
        dst = memory(dst_md, eng);
        diff_dst = memory(dst_md, eng);
    }

    memory zeros(const memory::desc &md) {
        memory m(md, eng);
        memset(m.get_data_handle(), 0, md.get_size());
        return m;
    }

    void forward(stream &s) {
        std::unordered_map<int, memory> args = {
                {DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_SRC_ITER, src_iter}, {DNNL_ARG_WEIGHTS_LAYER, fw_wl},
                {DNNL_ARG_WEIGHTS_ITER, fw_wi}, {DNNL_ARG_BIAS, bias_m}, {DNNL_ARG_DST_LAYER, dst},
                {DNNL_ARG_WORKSPACE, ws}};
        if (cell == Cell::Lstm) args[DNNL_ARG_SRC_ITER_C] = src_iter_c;
        fwd.execute(s, args);
    }

    void backward(stream &s) {
        // oneDNN's RNN backward adds into the weight gradients: zero them for each iteration
        for (memory *m : {&diff_wl, &diff_wi, &diff_bias}) memset(m->get_data_handle(), 0, m->get_desc().get_size());
        std::unordered_map<int, memory> args = {
                {DNNL_ARG_SRC_LAYER, src}, {DNNL_ARG_SRC_ITER, src_iter}, {DNNL_ARG_WEIGHTS_LAYER, bw_wl},
                {DNNL_ARG_WEIGHTS_ITER, bw_wi}, {DNNL_ARG_BIAS, bias_m}, {DNNL_ARG_DST_LAYER, dst},
                {DNNL_ARG_DIFF_DST_LAYER, diff_dst}, {DNNL_ARG_WORKSPACE, ws},
                {DNNL_ARG_DIFF_SRC_LAYER, diff_src}, {DNNL_ARG_DIFF_SRC_ITER, diff_src_iter},
                {DNNL_ARG_DIFF_WEIGHTS_LAYER, diff_wl}, {DNNL_ARG_DIFF_WEIGHTS_ITER, diff_wi},
                {DNNL_ARG_DIFF_BIAS, diff_bias}};
        if (cell == Cell::Lstm) {
            args[DNNL_ARG_SRC_ITER_C] = src_iter_c;
            args[DNNL_ARG_DIFF_SRC_ITER_C] = diff_src_iter_c;
        }
        bwd.execute(s, args);
    }

    // a gradient in the primitive's layout, back in the plain layout of wl/wi/bias
    std::vector<float> plain(const memory &m, const memory::dims &dims, tag t) {
        size_t n = 1;
        for (auto d : dims) n *= d;
        std::vector<float> out(n);
        memory p({dims, dt::f32, t}, eng, out.data());
        stream s(eng);
        reorder(m, p).execute(s, const_cast<memory &>(m), p);
        s.wait();
        return out;
    }
    std::vector<float> grad_wl() { return plain(diff_wl, {1, D, in, gates(cell), H}, tag::ldigo); }
    std::vector<float> grad_wi() { return plain(diff_wi, {1, D, H, gates(cell), H}, tag::ldigo); }
    std::vector<float> grad_bias() { return plain(diff_bias, {1, D, bias_gates(cell), H}, tag::ldgo); }
};

static void sgemm(char ta, char tb, long M, long N, long K, const float *A, long lda, const float *Bm, long ldb,
                  float beta, float *C, long ldc) {
    if (dnnl_sgemm(ta, tb, M, N, K, 1.f, A, lda, Bm, ldb, beta, C, ldc) != dnnl_success)
        throw std::runtime_error("dnnl_sgemm failed");
}

struct Net {
    static constexpr int I = 64, O = 64;
    int in, out, H, B, T, D, F;  // in/out: I and O, or tiny sizes in check mode
    engine eng{engine::kind::cpu, 0};
    stream s{eng};
    std::vector<std::unique_ptr<Layer>> layers;
    memory x, dx;                   // input (T, B, in) and its gradient from the first layer
    std::vector<float> V, c, logits, dlogits, dV, dc;
    std::vector<int> target;
    double loss = 0;

    Net(Cell cell, int L, bool bi, int in_, int H_, int out_, int B_, int T_, unsigned seed)
        : in(in_), out(out_), H(H_), B(B_), T(T_), D(bi ? 2 : 1), F((bi ? 2 : 1) * H_) {
        std::mt19937 rng(seed);
        for (int l = 0; l < L; ++l)
            layers.push_back(std::make_unique<Layer>(cell, l == 0 ? in : F, H, B, T, D, eng, rng));
        x = memory({{T, B, in}, dt::f32, tag::tnc}, eng);
        dx = memory({{T, B, in}, dt::f32, tag::tnc}, eng);
        std::normal_distribution<float> nd(0.f, 1.f);
        float *xp = (float *)x.get_data_handle();
        for (size_t k = 0; k < (size_t)T * B * in; ++k) xp[k] = nd(rng);
        target.resize((size_t)T * B);
        std::uniform_int_distribution<int> ut(0, out - 1);
        for (int &t : target) t = ut(rng);
        V.resize((size_t)out * F);
        c.resize(out);
        double a = 1.0 / std::sqrt((double)F);
        for (float &v : V) v = (float)uniform_init(rng, a);
        for (float &v : c) v = (float)uniform_init(rng, a);
        // chain the layers through shared memories: layer l reads layer l-1's output and writes
        // the gradient of that output
        for (int l = 0; l < L; ++l) {
            layers[l]->src = l == 0 ? x : layers[l - 1]->dst;
            layers[l]->diff_src = l == 0 ? dx : layers[l - 1]->diff_dst;
        }
        logits.resize((size_t)T * B * out);
        dlogits.resize(logits.size());
        dV.resize(V.size());
        dc.resize(out);
    }

    // forward + summed softmax cross-entropy + full BPTT; every gradient ends up in the layers'
    // diff memories and dV, dc
    void iteration() {
        for (auto &l : layers) l->forward(s);
        s.wait();
        const long R = (long)T * B;
        const float *h = (const float *)layers.back()->dst.get_data_handle();
        float *dh = (float *)layers.back()->diff_dst.get_data_handle();
        sgemm('N', 'T', R, out, F, h, F, V.data(), F, 0.f, logits.data(), out);
        double L = 0;
        const int O_ = out;
#pragma omp parallel for reduction(+ : L) schedule(static)
        for (long r = 0; r < R; ++r) {
            float *lg = &logits[(size_t)r * O_], *dl = &dlogits[(size_t)r * O_];
            float mx = -INFINITY;
            for (int k = 0; k < O_; ++k) mx = std::max(mx, lg[k] += c[k]);
            float sum = 0;
            for (int k = 0; k < O_; ++k) sum += (dl[k] = std::exp(lg[k] - mx));
            for (int k = 0; k < O_; ++k) dl[k] /= sum;
            int t = target[r];
            L -= (double)(lg[t] - mx) - std::log((double)sum);
            dl[t] -= 1.f;
        }
        loss = L;
        sgemm('T', 'N', out, F, R, dlogits.data(), out, h, F, 0.f, dV.data(), F);  // dV = dlogits^T h
        std::fill(dc.begin(), dc.end(), 0.f);
        for (long r = 0; r < R; ++r)
            for (int k = 0; k < out; ++k) dc[k] += dlogits[(size_t)r * out + k];
        sgemm('N', 'N', R, F, out, dlogits.data(), out, V.data(), F, 0.f, dh, F);  // dh = dlogits V
        for (int l = (int)layers.size() - 1; l >= 0; --l) layers[l]->backward(s);
        s.wait();
    }
};

// ------------------------------------------------------------------ double-precision reference

// One direction of one layer over the sequence in the order it is processed (the caller reverses
// time for the backward direction). Weights are the direction's slice of the plain host arrays.
struct RefDir {
    Cell cell;
    int in, H, B, T;
    const float *wl, *wi, *bias;   // [in][G][H], [H][G][H], [GB][H]
    std::vector<double> xs, h, cst, g;   // inputs; h, c: (T+1)*B*H; g: per step and row the gate values

    double W(const float *w, int row, int gate, int o) const { return w[((size_t)row * gates(cell) + gate) * H + o]; }
    static double sig(double v) { return 1 / (1 + std::exp(-v)); }

    void forward() {
        const int G = gates(cell), NG = cell == Cell::Gru ? 4 : G;
        h.assign((size_t)(T + 1) * B * H, 0);
        cst.assign((size_t)(T + 1) * B * H, 0);
        g.assign((size_t)T * B * NG * H, 0);
        std::vector<double> pre(G * H), hp(H);
        for (int t = 0; t < T; ++t)
            for (int b = 0; b < B; ++b) {
                const double *xt = &xs[((size_t)t * B + b) * in], *hprev = &h[((size_t)t * B + b) * H];
                for (int k = 0; k < G; ++k)
                    for (int o = 0; o < H; ++o) {
                        double a = cell == Cell::Gru && k == 2 ? 0 : bias[k * H + o];
                        for (int i = 0; i < in; ++i) a += W(wl, i, k, o) * xt[i];
                        // the GRU candidate's recurrent part is kept apart: r multiplies it
                        if (!(cell == Cell::Gru && k == 2))
                            for (int j = 0; j < H; ++j) a += W(wi, j, k, o) * hprev[j];
                        pre[k * H + o] = a;
                    }
                double *ht = &h[((size_t)(t + 1) * B + b) * H], *ct = &cst[((size_t)(t + 1) * B + b) * H];
                const double *cprev = &cst[((size_t)t * B + b) * H];
                double *gt = &g[((size_t)t * B + b) * NG * H];
                for (int o = 0; o < H; ++o) {
                    switch (cell) {
                        case Cell::RnnTanh: ht[o] = std::tanh(pre[o]); break;
                        case Cell::RnnRelu: ht[o] = std::max(0.0, pre[o]); break;
                        case Cell::Lstm: {  // gates i, f, c~, o
                            double ig = sig(pre[o]), fg = sig(pre[H + o]), cg = std::tanh(pre[2 * H + o]),
                                   og = sig(pre[3 * H + o]);
                            ct[o] = fg * cprev[o] + ig * cg;
                            ht[o] = og * std::tanh(ct[o]);
                            gt[o] = ig; gt[H + o] = fg; gt[2 * H + o] = cg; gt[3 * H + o] = og;
                            break;
                        }
                        case Cell::Gru: {  // gates u, r, o; h = u h_prev + (1 - u) n
                            double hpo = bias[3 * H + o];
                            for (int j = 0; j < H; ++j) hpo += W(wi, j, 2, o) * hprev[j];
                            double u = sig(pre[o]), r = sig(pre[H + o]);
                            double n = std::tanh(pre[2 * H + o] + bias[2 * H + o] + r * hpo);
                            ht[o] = u * hprev[o] + (1 - u) * n;
                            gt[o] = u; gt[H + o] = r; gt[2 * H + o] = n; gt[3 * H + o] = hpo;
                            break;
                        }
                    }
                }
            }
    }

    // dh: dL/dh_t from above, per step (processing order). Adds into dwl/dwi/db, writes dx.
    void backward(const std::vector<double> &dh, std::vector<double> &dx, std::vector<double> &dwl,
                  std::vector<double> &dwi, std::vector<double> &db) const {
        const int G = gates(cell), NG = cell == Cell::Gru ? 4 : G;
        dx.assign((size_t)T * B * in, 0);
        std::vector<double> dnext((size_t)B * H, 0), dcnext((size_t)B * H, 0);
        std::vector<double> dg(NG * H);
        for (int t = T - 1; t >= 0; --t) {
            std::vector<double> dprev((size_t)B * H, 0), dcprev((size_t)B * H, 0);
            for (int b = 0; b < B; ++b) {
                const double *xt = &xs[((size_t)t * B + b) * in], *hprev = &h[((size_t)t * B + b) * H];
                const double *ht = &h[((size_t)(t + 1) * B + b) * H], *ct = &cst[((size_t)(t + 1) * B + b) * H];
                const double *cprev = &cst[((size_t)t * B + b) * H];
                const double *gt = &g[((size_t)t * B + b) * NG * H];
                for (int o = 0; o < H; ++o) {
                    double d = dh[((size_t)t * B + b) * H + o] + dnext[(size_t)b * H + o];
                    switch (cell) {
                        case Cell::RnnTanh: dg[o] = d * (1 - ht[o] * ht[o]); break;
                        case Cell::RnnRelu: dg[o] = ht[o] > 0 ? d : 0; break;
                        case Cell::Lstm: {
                            double ig = gt[o], fg = gt[H + o], cg = gt[2 * H + o], og = gt[3 * H + o];
                            double tc = std::tanh(ct[o]);
                            double dc = dcnext[(size_t)b * H + o] + d * og * (1 - tc * tc);
                            dg[o] = dc * cg * ig * (1 - ig);
                            dg[H + o] = dc * cprev[o] * fg * (1 - fg);
                            dg[2 * H + o] = dc * ig * (1 - cg * cg);
                            dg[3 * H + o] = d * tc * og * (1 - og);
                            dcprev[(size_t)b * H + o] = dc * fg;
                            break;
                        }
                        case Cell::Gru: {
                            double u = gt[o], r = gt[H + o], n = gt[2 * H + o], hpo = gt[3 * H + o];
                            double dn = d * (1 - u) * (1 - n * n);   // at n's pre-activation
                            dg[o] = d * (hprev[o] - n) * u * (1 - u);
                            dg[H + o] = dn * hpo * r * (1 - r);
                            dg[2 * H + o] = dn;                       // the input part and b_o
                            dg[3 * H + o] = dn * r;                   // the recurrent part and b_u'
                            dprev[(size_t)b * H + o] += d * u;
                            break;
                        }
                    }
                }
                for (int k = 0; k < NG; ++k)
                    for (int o = 0; o < H; ++o) db[k * H + o] += dg[k * H + o];
                for (int k = 0; k < G; ++k)
                    for (int o = 0; o < H; ++o) {
                        double dgx = dg[k * H + o];                                       // input side
                        double dgh = cell == Cell::Gru && k == 2 ? dg[3 * H + o] : dgx;   // recurrent side
                        for (int i = 0; i < in; ++i) {
                            dwl[((size_t)i * G + k) * H + o] += dgx * xt[i];
                            dx[((size_t)t * B + b) * in + i] += dgx * W(wl, i, k, o);
                        }
                        for (int j = 0; j < H; ++j) {
                            dwi[((size_t)j * G + k) * H + o] += dgh * hprev[j];
                            dprev[(size_t)b * H + j] += dgh * W(wi, j, k, o);
                        }
                    }
            }
            dnext = dprev;
            dcnext = dcprev;
        }
    }
};

struct RefResult {
    double loss = 0;
    std::vector<std::vector<double>> dwl, dwi, db;   // per layer, plain layouts of all directions
    std::vector<double> dV, dc, dx;
};

static RefResult reference(const Net &net) {
    const int T = net.T, B = net.B, H = net.H, D = net.D, F = net.F, O = net.out;
    const Cell cell = net.layers[0]->cell;
    const int G = gates(cell), GB = bias_gates(cell);
    auto rev = [&](const std::vector<double> &v, int C) {  // reverse time of a (T, B, C) array
        std::vector<double> r(v.size());
        for (int t = 0; t < T; ++t)
            std::copy_n(&v[(size_t)t * B * C], (size_t)B * C, &r[(size_t)(T - 1 - t) * B * C]);
        return r;
    };
    std::vector<double> inp((size_t)T * B * net.in);
    const float *xp = (const float *)net.x.get_data_handle();
    for (size_t k = 0; k < inp.size(); ++k) inp[k] = xp[k];
    std::vector<std::vector<RefDir>> dirs;
    for (auto &lp : net.layers) {
        const Layer &L = *lp;
        std::vector<RefDir> ds;
        std::vector<double> outv((size_t)T * B * F);
        for (int d = 0; d < D; ++d) {
            RefDir r{cell, L.in, H, B, T, &L.wl[(size_t)d * L.in * G * H], &L.wi[(size_t)d * H * G * H],
                     &L.bias[(size_t)d * GB * H], {}, {}, {}, {}};
            r.xs = d == 0 ? inp : rev(inp, L.in);
            r.forward();
            for (int t = 0; t < T; ++t)
                for (int b = 0; b < B; ++b)
                    for (int o = 0; o < H; ++o) {
                        int ts = d == 0 ? t : T - 1 - t;  // the backward direction's step for time t
                        outv[((size_t)t * B + b) * F + d * H + o] = r.h[((size_t)(ts + 1) * B + b) * H + o];
                    }
            ds.push_back(std::move(r));
        }
        dirs.push_back(std::move(ds));
        inp = outv;
    }
    RefResult res;
    res.dV.assign((size_t)O * F, 0);
    res.dc.assign(O, 0);
    std::vector<double> dout((size_t)T * B * F, 0);
    for (long r = 0; r < (long)T * B; ++r) {
        std::vector<double> lg(O);
        double mx = -1e300;
        for (int k = 0; k < O; ++k) {
            double a = net.c[k];
            for (int j = 0; j < F; ++j) a += (double)net.V[(size_t)k * F + j] * inp[(size_t)r * F + j];
            lg[k] = a;
            mx = std::max(mx, a);
        }
        double sum = 0;
        for (double v : lg) sum += std::exp(v - mx);
        int tg = net.target[r];
        res.loss -= lg[tg] - mx - std::log(sum);
        for (int k = 0; k < O; ++k) {
            double p = std::exp(lg[k] - mx) / sum - (k == tg ? 1 : 0);
            res.dc[k] += p;
            for (int j = 0; j < F; ++j) {
                res.dV[(size_t)k * F + j] += p * inp[(size_t)r * F + j];
                dout[(size_t)r * F + j] += p * net.V[(size_t)k * F + j];
            }
        }
    }
    size_t NL = net.layers.size();
    res.dwl.resize(NL);
    res.dwi.resize(NL);
    res.db.resize(NL);
    for (int l = (int)NL - 1; l >= 0; --l) {
        const Layer &L = *net.layers[l];
        res.dwl[l].assign(L.wl.size(), 0);
        res.dwi[l].assign(L.wi.size(), 0);
        res.db[l].assign(L.bias.size(), 0);
        std::vector<double> din((size_t)T * B * L.in, 0);
        for (int d = 0; d < D; ++d) {
            std::vector<double> dh((size_t)T * B * H);
            for (int t = 0; t < T; ++t)
                for (int b = 0; b < B; ++b)
                    for (int o = 0; o < H; ++o) {
                        int ts = d == 0 ? t : T - 1 - t;
                        dh[((size_t)ts * B + b) * H + o] = dout[((size_t)t * B + b) * F + d * H + o];
                    }
            std::vector<double> dx, dwl(L.in * G * H, 0), dwi(H * G * H, 0), db(GB * H, 0);
            dirs[l][d].backward(dh, dx, dwl, dwi, db);
            if (d == 1) dx = rev(dx, L.in);
            for (size_t k = 0; k < din.size(); ++k) din[k] += dx[k];
            std::copy(dwl.begin(), dwl.end(), res.dwl[l].begin() + (size_t)d * dwl.size());
            std::copy(dwi.begin(), dwi.end(), res.dwi[l].begin() + (size_t)d * dwi.size());
            std::copy(db.begin(), db.end(), res.db[l].begin() + (size_t)d * db.size());
        }
        dout = din;
    }
    res.dx = dout;
    return res;
}

template <typename V>
static double rel_err(const V &got, const std::vector<double> &ref) {
    double e = 0, m = 0;
    for (size_t k = 0; k < ref.size(); ++k) {
        e = std::max(e, std::fabs((double)got[k] - ref[k]));
        m = std::max(m, std::fabs(ref[k]));
    }
    return m > 0 ? e / m : e;
}

static bool check_one(const char *name, Cell cell, int L, bool bi) {
    const int I = 5, H = 7, O = 3, B = 2, T = 5;
    Net net(cell, L, bi, I, H, O, B, T, 12345u);
    net.iteration();
    net.iteration();  // twice: the gradients must not accumulate across iterations
    RefResult ref = reference(net);
    std::vector<std::pair<std::string, double>> errs;
    errs.push_back({"loss", std::fabs(net.loss - ref.loss) / std::fabs(ref.loss)});
    for (size_t l = 0; l < net.layers.size(); ++l) {
        Layer &ly = *net.layers[l];
        std::string p = "l" + std::to_string(l) + ".";
        errs.push_back({p + "weights_layer", rel_err(ly.grad_wl(), ref.dwl[l])});
        errs.push_back({p + "weights_iter", rel_err(ly.grad_wi(), ref.dwi[l])});
        errs.push_back({p + "bias", rel_err(ly.grad_bias(), ref.db[l])});
    }
    errs.push_back({"head.V", rel_err(net.dV, ref.dV)});
    errs.push_back({"head.c", rel_err(net.dc, ref.dc)});
    errs.push_back({"x", rel_err((const float *)net.dx.get_data_handle(), ref.dx)});
    double worst = 0;
    for (auto &e : errs) worst = std::max(worst, e.second);
    bool ok = worst < 1e-4;
    printf("%s: I=%d H=%d O=%d B=%d T=%d layers=%d bidirectional=%s\n", name, I, H, O, B, T, L, bi ? "yes" : "no");
    printf("  loss oneDNN %.9g, double reference %.9g\n", net.loss, ref.loss);
    printf("  relative error (max |oneDNN - ref| / max |ref|):");
    for (auto &e : errs) printf(" %s %.2e", e.first.c_str(), e.second);
    printf("\n  worst %.2e %s 1e-4: %s\n", worst, ok ? "<" : ">=", ok ? "PASS" : "FAIL");
    return ok;
}

// ------------------------------------------------------------------ versions and timing

static std::string isa_name(cpu_isa isa) {
    switch (isa) {
        case cpu_isa::sse41: return "sse41";
        case cpu_isa::avx: return "avx";
        case cpu_isa::avx2: return "avx2";
        case cpu_isa::avx2_vnni: return "avx2_vnni";
        case cpu_isa::avx512_core: return "avx512_core";
        case cpu_isa::avx512_core_vnni: return "avx512_core_vnni";
        case cpu_isa::avx512_core_bf16: return "avx512_core_bf16";
        case cpu_isa::avx512_core_amx: return "avx512_core_amx";
        default: return "isa_" + std::to_string((int)isa);
    }
}

static std::string versions_json() {
    const dnnl_version_t *v = dnnl_version();
    char buf[1024];
    snprintf(buf, sizeof buf,
             "{\"onednn\":\"%d.%d.%d\",\"onednn_hash\":\"%s\",\"cpu_runtime\":\"%s\",\"isa\":\"%s\","
             "\"compiler\":\"g++ %s\",\"flags\":\"%s\"}",
             v->major, v->minor, v->patch, v->hash, v->cpu_runtime == DNNL_RUNTIME_OMP ? "OpenMP" : "other",
             isa_name(get_effective_cpu_isa()).c_str(), __VERSION__, PEER_BUILD_FLAGS);
    return buf;
}

static double cpu_seconds() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

struct Options {
    std::string cases, cases_file, out;
    double min_time = 2.0;
    int min_reps = 5, warmup = 2, threads = 0;
};

static std::string run_case(const Case &c, const Options &o) {
    Net net(c.cell, c.layers, c.bi, Net::I, c.H, Net::O, c.B, c.T, 42u);
    using clk = std::chrono::steady_clock;
    auto t0 = clk::now();
    net.iteration();
    double probe = std::chrono::duration<double>(clk::now() - t0).count();
    if (!std::isfinite(net.loss)) throw std::runtime_error("case " + c.id + ": loss is not finite");
    int min_reps = probe > 3.0 ? 3 : o.min_reps;  // a slow case gets fewer repetitions, not 15 s
    for (int w = 1; w < o.warmup; ++w) net.iteration();
    std::vector<double> ts;
    double total = 0, cpu0 = cpu_seconds();
    while ((int)ts.size() < min_reps || total < o.min_time) {
        auto a = clk::now();
        net.iteration();
        double d = std::chrono::duration<double>(clk::now() - a).count();
        ts.push_back(d);
        total += d;
    }
    double cpu_per_wall = (cpu_seconds() - cpu0) / total;  // ~ the number of threads kept busy
    std::vector<double> sorted = ts;
    std::sort(sorted.begin(), sorted.end());
    size_t n = sorted.size();
    double med = n % 2 ? sorted[n / 2] : 0.5 * (sorted[n / 2 - 1] + sorted[n / 2]);
    // oneDNN has no variable lengths: a packed case runs every sequence at full T and is said so
    long steps = c.packed ? (long)c.B * c.T : c.steps_per_iteration;
    std::ostringstream js;
    js.precision(6);
    js << "{\"peer\":\"onednn\",\"case\":\"" << c.id << "\",\"threads\":" << omp_get_max_threads()
       << ",\"steps_per_s\":" << steps / med << ",\"gflops\":" << steps * (double)c.flops_per_step / med / 1e9
       << ",\"median_s\":" << med << ",\"min_s\":" << sorted.front() << ",\"max_s\":" << sorted.back()
       << ",\"reps\":" << n << ",\"steps_per_iteration\":" << steps << ",\"lengths\":\""
       << (c.packed ? "full" : "equal") << "\"";
    if (c.packed)
        js << ",\"note\":\"oneDNN has no variable-length sequences: all " << c.B << " sequences run the full T = "
           << c.T << ", steps/s counts B*T\"";
    js << ",\"cell\":\"" << cell_name(c.cell) << "\",\"loss\":" << net.loss << ",\"cpu_per_wall\":" << cpu_per_wall
       << ",\"impl\":{\"fwd\":\"" << net.layers[0]->fpd.impl_info_str() << "\",\"bwd\":\""
       << net.layers[0]->bpd.impl_info_str() << "\"},\"versions\":" << versions_json() << "}";
    return js.str();
}

static std::string self_dir() {
    char buf[4096];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
    if (n <= 0) return ".";
    buf[n] = 0;
    std::string p(buf);
    return p.substr(0, p.rfind('/'));
}

static int parse_int(const char *opt, const char *v, int lo) {
    char *end = nullptr;
    long x = strtol(v, &end, 10);
    if (!*v || *end || x < lo) usage_error(std::string(opt) + " " + v + ": expected an integer >= " + std::to_string(lo));
    return (int)x;
}

int main(int argc, char **argv) {
    Options o;
    o.cases_file = self_dir() + "/../cases.json";
    bool check = false;
    for (int a = 1; a < argc; ++a) {
        std::string k = argv[a];
        auto val = [&]() -> const char * {
            if (a + 1 >= argc) usage_error(k + ": missing its value");
            return argv[++a];
        };
        if (k == "check") check = true;
        else if (k == "--cases") o.cases = val();
        else if (k == "--cases-file") o.cases_file = val();
        else if (k == "--out") o.out = val();
        else if (k == "--min-reps") o.min_reps = parse_int("--min-reps", val(), 1);
        else if (k == "--warmup") o.warmup = parse_int("--warmup", val(), 0);
        else if (k == "--threads") o.threads = parse_int("--threads", val(), 1);
        else if (k == "--min-time") {
            const char *v = val();
            char *end = nullptr;
            o.min_time = strtod(v, &end);
            if (!*v || *end || !(o.min_time > 0)) usage_error(std::string("--min-time ") + v + ": expected seconds > 0");
        } else if (k == "-h" || k == "--help") {
            printf("usage: onednn_peer [--cases ID,...] [--min-time S] [--min-reps N] [--warmup N] [--threads N]\n"
                   "                   [--cases-file PATH] [--out FILE]\n       onednn_peer check\n");
            return 0;
        } else usage_error("argument '" + k + "': unknown, expected check, --cases, --min-time, --min-reps, "
                           "--warmup, --threads, --cases-file or --out");
    }
    if (o.threads > 0) omp_set_num_threads(o.threads);
    const dnnl_version_t *v = dnnl_version();
    fprintf(stderr, "onednn_peer: oneDNN %d.%d.%d, %d OpenMP threads, ISA %s\n", v->major, v->minor, v->patch,
            omp_get_max_threads(), isa_name(get_effective_cpu_isa()).c_str());
    try {
        if (check) {
            bool ok = check_one("Elman tanh", Cell::RnnTanh, 1, false);
            ok &= check_one("Elman relu", Cell::RnnRelu, 1, false);
            ok &= check_one("LSTM", Cell::Lstm, 1, false);
            ok &= check_one("GRU (linear-before-reset)", Cell::Gru, 1, false);
            ok &= check_one("2-layer bidirectional Elman tanh", Cell::RnnTanh, 2, true);
            printf("%s\n", ok ? "PASS" : "FAIL");
            return ok ? 0 : 1;
        }
        std::vector<Case> all = load_cases(o.cases_file);
        std::vector<Case> run;
        if (o.cases.empty()) {
            run = all;
        } else {
            std::stringstream ss(o.cases);
            std::string id;
            while (std::getline(ss, id, ',')) {
                auto it = std::find_if(all.begin(), all.end(), [&](const Case &c) { return c.id == id; });
                if (it == all.end()) {
                    std::string known;
                    for (auto &c : all) known += (known.empty() ? "" : ",") + c.id;
                    usage_error("--cases: unknown case id '" + id + "', expected some of " + known);
                }
                run.push_back(*it);
            }
        }
        FILE *out = nullptr;
        if (!o.out.empty() && !(out = fopen(o.out.c_str(), "w")))
            usage_error("--out " + o.out + ": cannot write it");
        for (const Case &c : run) {
            if (c.packed)
                fprintf(stderr, "onednn_peer: case %s: oneDNN has no variable-length sequences; running all at T = %d\n",
                        c.id.c_str(), c.T);
            std::string line = run_case(c, o);
            printf("%s\n", line.c_str());
            fflush(stdout);
            if (out) {
                fprintf(out, "%s\n", line.c_str());
                fflush(out);
            }
        }
        if (out) fclose(out);
    } catch (dnnl::error &e) {
        fprintf(stderr, "onednn_peer: oneDNN error %d: %s\n", (int)e.status, e.what());
        return 1;
    } catch (std::exception &e) {
        fprintf(stderr, "onednn_peer: %s\n", e.what());
        return 1;
    }
    return 0;
}
