// BF16 x BF16 -> FP32 multiplier (combinational).
//
// The 8-bit x 8-bit significand product has at most 16 significant bits, so
// it is exact in FP32 (24-bit significand); no rounding is needed. What is
// left is range: products >= 2^128 become inf, products < 2^-126 flush to a
// signed zero (FTZ). Subnormal inputs are read as zero (DAZ). Any NaN, and
// inf * 0, gives the canonical quiet NaN. Spec: docs/DATAPATH.md.
module bf16_mul (
  input  logic [15:0] a,
  input  logic [15:0] b,
  output logic [31:0] p
);
  localparam logic [31:0] CanonNan = 32'h7FC0_0000;

  logic        sign;
  logic        a_nan, b_nan, a_inf, b_inf, a_zero, b_zero;
  logic [15:0] sig_prod;        // 1.7 x 1.7 = 2.14 fixed point, in [1, 4)
  logic signed [9:0] exp_biased;  // FP32-biased exponent of the product
  logic [22:0] frac;

  always_comb begin
    sign   = a[15] ^ b[15];
    a_nan  = (a[14:7] == 8'hFF) && (a[6:0] != 7'd0);
    b_nan  = (b[14:7] == 8'hFF) && (b[6:0] != 7'd0);
    a_inf  = (a[14:7] == 8'hFF) && (a[6:0] == 7'd0);
    b_inf  = (b[14:7] == 8'hFF) && (b[6:0] == 7'd0);
    a_zero = (a[14:7] == 8'h00);  // DAZ: subnormals count as zero
    b_zero = (b[14:7] == 8'h00);

    sig_prod = {8'd0, 1'b1, a[6:0]} * {8'd0, 1'b1, b[6:0]};
    // BF16 and FP32 share the 127 bias: e = ea + eb - 127 (+1 if the
    // significand product reached [2, 4)).
    exp_biased = $signed({2'b00, a[14:7]}) + $signed({2'b00, b[14:7]})
               - 10'sd127 + $signed({9'd0, sig_prod[15]});
    frac = sig_prod[15] ? {sig_prod[14:0], 8'd0} : {sig_prod[13:0], 9'd0};

    if (a_nan || b_nan || (a_inf && b_zero) || (b_inf && a_zero)) begin
      p = CanonNan;
    end else if (a_inf || b_inf) begin
      p = {sign, 8'hFF, 23'd0};
    end else if (a_zero || b_zero) begin
      p = {sign, 31'd0};
    end else if (exp_biased >= 10'sd255) begin
      p = {sign, 8'hFF, 23'd0};  // overflow: exact product >= 2^128
    end else if (exp_biased <= 10'sd0) begin
      p = {sign, 31'd0};  // FTZ: exact product < 2^-126
    end else begin
      p = {sign, exp_biased[7:0], frac};
    end
  end
endmodule
