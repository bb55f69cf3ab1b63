// Dot-product datapath of the attention engine.
//
// One pair of LANES-element vectors per cycle, two precisions chosen per
// vector by in_mode:
//   MODE_BF16 (0): BF16 x BF16 products (exact in FP32), FP32 sums, RNE,
//                  DAZ/FTZ, canonical NaN 0x7FC00000.
//   MODE_INT8 (1): INT8 x INT8 products, INT32 sums, two's complement wrap.
// Lane i of in_a/in_b is bits [16*i +: 16]; INT8 uses the low byte of the
// lane and ignores the high byte.
//
// Fixed reduction order (a balanced tree, then the accumulator last):
//   level 0: p[i]   = a[i] * b[i]
//   level k: n_k[i] = n_{k-1}[2i] + n_{k-1}[2i+1],  k = 1..log2(LANES)
//   out     = n_root + in_acc
// FP32 -0.0 (0x80000000) is the exact additive identity: pass it as in_acc
// when there is nothing to accumulate (+0.0 would turn a -0 sum into +0).
//
// Pipeline: one register stage for the products, one per tree level, one for
// the accumulate: LATENCY = log2(LANES) + 2 cycles from the cycle a vector is
// accepted to the cycle it is presented on out_*; 6 for 16 lanes, 7 for 32.
// Handshake: a transfer happens on a rising edge where valid && ready.
// Each stage holds one vector and loads whenever it is empty or the stages
// after it are all moving, so bubbles collapse under back-pressure and
// throughput is one vector per cycle while out_ready stays high. in_ready
// depends combinationally on out_ready (no skid buffer).
// Spec and figures: docs/DATAPATH.md.
module dot_product #(
  parameter int LANES = 16  // power of two, >= 2
) (
  input  logic                clk,
  input  logic                rst_n,      // synchronous, active low
  input  logic                in_valid,
  output logic                in_ready,
  input  logic                in_mode,    // 0 = BF16/FP32, 1 = INT8/INT32
  input  logic [LANES*16-1:0] in_a,
  input  logic [LANES*16-1:0] in_b,
  input  logic [31:0]         in_acc,     // FP32 bits or INT32
  output logic                out_valid,
  input  logic                out_ready,
  output logic [31:0]         out_result  // FP32 bits or INT32
);
  localparam int Levels = $clog2(LANES);
  localparam int Stages = Levels + 2;
  localparam int Nodes = 2 * LANES - 1;  // products, then each tree level

  // Stage s = 0: products, 1..Levels: tree levels, Stages-1: accumulate.
  logic [Stages-1:0] vld_q;
  logic [Stages-1:0] load;       // stage s captures its input this cycle
  logic [Stages-1:0] advance;    // stage s may be overwritten this cycle
  logic              mode_q [Stages-1];  // mode and acc ride along to the
  logic [31:0]       acc_q  [Stages-1];  // accumulate stage
  logic [31:0]       node_q [Nodes];     // registered products and sums
  logic [31:0]       res_d, res_q;

  // A stage may take a new vector when it, or any stage after it, is empty,
  // or when the output is being taken: everything downstream then shifts.
  for (genvar s = 0; s < Stages; s++) begin : g_ctrl
    assign advance[s] = out_ready || !(&vld_q[Stages-1:s]);
    if (s == 0) begin : g_first
      assign load[s] = advance[s] && in_valid;
    end else begin : g_next
      assign load[s] = advance[s] && vld_q[s-1];
    end
  end

  assign in_ready   = advance[0];
  assign out_valid  = vld_q[Stages-1];
  assign out_result = res_q;

  always_ff @(posedge clk) begin
    if (!rst_n) begin
      vld_q <= '0;
    end else begin
      vld_q <= (advance & {vld_q[Stages-2:0], in_valid}) | (~advance & vld_q);
    end
  end

  always_ff @(posedge clk) begin
    if (load[0]) begin
      mode_q[0] <= in_mode;
      acc_q[0] <= in_acc;
    end
    for (int s = 1; s < Stages - 1; s++) begin
      if (load[s]) begin
        mode_q[s] <= mode_q[s-1];
        acc_q[s] <= acc_q[s-1];
      end
    end
  end

  // Level 0: one multiplier per lane, both precisions, muxed by mode.
  for (genvar i = 0; i < LANES; i++) begin : g_mul
    logic [31:0] fp_prod;
    logic [15:0] int_prod;
    bf16_mul u_mul (
      .a(in_a[16*i +: 16]),
      .b(in_b[16*i +: 16]),
      .p(fp_prod)
    );
    assign int_prod = 16'($signed(in_a[16*i +: 8]) * $signed(in_b[16*i +: 8]));
    always_ff @(posedge clk) begin
      if (load[0]) node_q[i] <= in_mode ? {{16{int_prod[15]}}, int_prod} : fp_prod;
    end
  end

  // Levels 1..Levels: pairwise sums of the previous level, in lane order.
  for (genvar k = 1; k <= Levels; k++) begin : g_lvl
    localparam int InBase = 2 * LANES - ((2 * LANES) >> (k - 1));
    localparam int OutBase = 2 * LANES - ((2 * LANES) >> k);
    for (genvar i = 0; i < (LANES >> k); i++) begin : g_add
      logic [31:0] fp_sum, int_sum;
      fp32_add u_add (
        .x(node_q[InBase + 2*i]),
        .y(node_q[InBase + 2*i + 1]),
        .sum(fp_sum)
      );
      assign int_sum = node_q[InBase + 2*i] + node_q[InBase + 2*i + 1];
      always_ff @(posedge clk) begin
        if (load[k]) node_q[OutBase + i] <= mode_q[k-1] ? int_sum : fp_sum;
      end
    end
  end

  // Accumulate: tree root + acc_in, last in the order.
  logic [31:0] acc_fp_sum, acc_int_sum;
  fp32_add u_acc (
    .x(node_q[Nodes-1]),
    .y(acc_q[Stages-2]),
    .sum(acc_fp_sum)
  );
  assign acc_int_sum = node_q[Nodes-1] + acc_q[Stages-2];
  assign res_d = mode_q[Stages-2] ? acc_int_sum : acc_fp_sum;

  always_ff @(posedge clk) begin
    if (load[Stages-1]) res_q <= res_d;
  end
endmodule
