// FP32 adder, round to nearest even, DAZ/FTZ (combinational).
//
// Classic guard/round/sticky datapath: the smaller operand is aligned into a
// 27-bit field (24 significand bits, guard, round, sticky = OR of everything
// shifted past round), which is enough for a correctly rounded sum or
// difference. Subnormal inputs are read as zero; results below 2^-126 (always
// exact for a sum of normals) flush to a zero of the result's sign.
// Specials follow IEEE 754: any NaN -> canonical 0x7FC00000, inf - inf -> NaN,
// exact zero sum -> +0 unless both operands are -0. Commutative by design.
module fp32_add (
  input  logic [31:0] x,
  input  logic [31:0] y,
  output logic [31:0] sum
);
  localparam logic [31:0] CanonNan = 32'h7FC0_0000;

  logic        x_nan, y_nan, x_inf, y_inf, x_zero, y_zero;
  logic [31:0] larger, lesser;  // |larger| >= |lesser|
  logic        eff_sub;
  logic [7:0]  exp_diff;
  logic [4:0]  shift;       // alignment shift, saturated where only sticky remains
  logic [49:0] lesser_wide;  // {lesser significand, 26 zeros} >> shift
  logic [26:0] larger_ext, lesser_ext;  // {significand, G, R, S}
  logic [27:0] sum_raw;
  logic [26:0] diff_raw;
  logic [4:0]  lzc;
  logic        lz_found;
  logic [26:0] norm;        // leading one at bit 26; [2]=G [1]=R [0]=S
  logic signed [9:0] norm_exp;
  logic        round_up;
  // Bit 23 of the rounded significand is the implicit leading one: never stored.
  /* verilator lint_off UNUSEDSIGNAL */
  logic [24:0] rounded;
  /* verilator lint_on UNUSEDSIGNAL */
  logic signed [9:0] res_exp;
  logic [22:0] res_frac;

  always_comb begin
    x_nan  = (x[30:23] == 8'hFF) && (x[22:0] != 23'd0);
    y_nan  = (y[30:23] == 8'hFF) && (y[22:0] != 23'd0);
    x_inf  = (x[30:23] == 8'hFF) && (x[22:0] == 23'd0);
    y_inf  = (y[30:23] == 8'hFF) && (y[22:0] == 23'd0);
    x_zero = (x[30:23] == 8'h00);  // DAZ
    y_zero = (y[30:23] == 8'h00);

    // Magnitude order of two normals is the order of their low 31 bits.
    if (y[30:0] > x[30:0]) begin
      larger = y;
      lesser = x;
    end else begin
      larger = x;
      lesser = y;
    end
    eff_sub = larger[31] ^ lesser[31];

    exp_diff = larger[30:23] - lesser[30:23];
    shift = (exp_diff > 8'd26) ? 5'd26 : exp_diff[4:0];
    lesser_wide = {1'b1, lesser[22:0], 26'd0} >> shift;
    lesser_ext = {lesser_wide[49:24], |lesser_wide[23:0]};
    larger_ext = {1'b1, larger[22:0], 3'd0};

    sum_raw = {1'b0, larger_ext} + {1'b0, lesser_ext};
    diff_raw = larger_ext - lesser_ext;

    lzc = 5'd0;
    lz_found = 1'b0;
    for (int i = 26; i >= 0; i--) begin
      if (!lz_found && diff_raw[i]) begin
        lz_found = 1'b1;
        lzc = 5'(26 - i);
      end
    end

    if (!eff_sub) begin
      if (sum_raw[27]) begin
        norm = {sum_raw[27:2], |sum_raw[1:0]};
        norm_exp = $signed({2'b00, larger[30:23]}) + 10'sd1;
      end else begin
        norm = sum_raw[26:0];
        norm_exp = $signed({2'b00, larger[30:23]});
      end
    end else begin
      // Left shifts > 1 only happen for exp_diff <= 1, where nothing was
      // shifted into sticky, so shifting zeros in is exact.
      norm = diff_raw << lzc;
      norm_exp = $signed({2'b00, larger[30:23]}) - $signed({5'd0, lzc});
    end

    round_up = norm[2] && (norm[1] || norm[0] || norm[3]);
    rounded = {1'b0, norm[26:3]} + {24'd0, round_up};
    if (rounded[24]) begin
      res_exp = norm_exp + 10'sd1;  // rounded up to the next power of two
      res_frac = 23'd0;
    end else begin
      res_exp = norm_exp;
      res_frac = rounded[22:0];
    end

    if (x_nan || y_nan || (x_inf && y_inf && (x[31] != y[31]))) begin
      sum = CanonNan;
    end else if (x_inf) begin
      sum = x;
    end else if (y_inf) begin
      sum = y;
    end else if (x_zero && y_zero) begin
      sum = {x[31] && y[31], 31'd0};  // -0 only for (-0) + (-0)
    end else if (x_zero) begin
      sum = y;
    end else if (y_zero) begin
      sum = x;
    end else if (eff_sub && (diff_raw == 27'd0)) begin
      sum = 32'd0;  // exact cancellation is +0 under RNE
    end else if (res_exp >= 10'sd255) begin
      sum = {larger[31], 8'hFF, 23'd0};
    end else if (res_exp <= 10'sd0) begin
      sum = {larger[31], 31'd0};  // FTZ
    end else begin
      sum = {larger[31], res_exp[7:0], res_frac};
    end
  end
endmodule
