// Reference: Arm Architecture Reference Manual (DDI 0487) C7.2, the A64 Advanced SIMD and floating-point
// encodings; the arm64 kernels' *.s files include this.

// Go's arm64 assembler has mnemonics for few of the Advanced SIMD
// instructions the kernels need (no vector FADD/FMUL, SCVTF, FCVTL, SDOT,
// SMULL, …), so they are written as WORDs built here from their A64
// encodings. Arguments are register numbers, destination first as in Arm's
// syntax: VFADD(2, 0, 1) is FADD V2.4S, V0.4S, V1.4S. Every vector form is
// the 128-bit one. `go tool objdump` or aarch64 objdump shows them decoded;
// the tests check every kernel against its plain Go under qemu-user.

#define ENC3(op, d, n, m) WORD $((op) | ((m)<<16) | ((n)<<5) | (d))
#define ENC2(op, d, n) WORD $((op) | ((n)<<5) | (d))
// by-element forms of 32-bit lanes: index i is H:L (bits 11 and 21)
#define ENCE(op, d, n, m, i) WORD $((op) | (((i)&1)<<21) | ((m)<<16) | (((i)>>1)<<11) | ((n)<<5) | (d))

// float32 lanes
#define VFADD(d, n, m) ENC3(0x4E20D400, d, n, m)        // FADD  Vd.4S, Vn.4S, Vm.4S
#define VFMUL(d, n, m) ENC3(0x6E20DC00, d, n, m)        // FMUL  Vd.4S, Vn.4S, Vm.4S
#define VFMLA(d, n, m) ENC3(0x4E20CC00, d, n, m)        // FMLA  Vd.4S, Vn.4S, Vm.4S: d += n·m, fused
#define VFMLAE(d, n, m, i) ENCE(0x4F801000, d, n, m, i) // FMLA  Vd.4S, Vn.4S, Vm.S[i], fused
#define VFMULE(d, n, m, i) ENCE(0x4F809000, d, n, m, i) // FMUL  Vd.4S, Vn.4S, Vm.S[i]
#define VFADDP(d, n, m) ENC3(0x6E20D400, d, n, m)       // FADDP Vd.4S, Vn.4S, Vm.4S: [n0+n1, n2+n3, m0+m1, m2+m3]
#define SFADDP(d, n) ENC2(0x7E30D800, d, n)             // FADDP Sd, Vn.2S: n0+n1
#define VEXT8(d, n, m) ENC3(0x6E004000, d, n, m)        // EXT   Vd.16B, Vn.16B, Vm.16B, #8: [n2, n3, m0, m1]
#define VEXT4(d, n, m) ENC3(0x6E002000, d, n, m)        // EXT   Vd.16B, Vn.16B, Vm.16B, #4: [n1, n2, n3, m0]
#define VSCVTF(d, n) ENC2(0x4E21D800, d, n)             // SCVTF Vd.4S, Vn.4S (int32 → float32, to nearest even)
#define VFCVTL(d, n) ENC2(0x0E217800, d, n)             // FCVTL  Vd.4S, Vn.4H (half → float32, exact)
#define VFCVTL2(d, n) ENC2(0x4E217800, d, n)            // FCVTL2 Vd.4S, Vn.8H (upper four)
#define VSHLL16(d, n) ENC2(0x2E613800, d, n)            // SHLL  Vd.4S, Vn.4H, #16 (bfloat16 → float32)
#define VSHLL16_2(d, n) ENC2(0x6E613800, d, n)          // SHLL2 Vd.4S, Vn.8H, #16

// integer lanes
#define VSDOT(d, n, m) ENC3(0x4E809400, d, n, m)    // SDOT   Vd.4S, Vn.16B, Vm.16B: d[k] += Σ n[4k+i]·m[4k+i], i < 4 (FEAT_DotProd)
#define VSMULL(d, n, m) ENC3(0x0E20C000, d, n, m)   // SMULL  Vd.8H, Vn.8B, Vm.8B
#define VSMULL2(d, n, m) ENC3(0x4E20C000, d, n, m)  // SMULL2 Vd.8H, Vn.16B, Vm.16B (upper eight)
#define VSMLAL(d, n, m) ENC3(0x0E208000, d, n, m)   // SMLAL  Vd.8H, Vn.8B, Vm.8B
#define VSMLAL2(d, n, m) ENC3(0x4E208000, d, n, m)  // SMLAL2 Vd.8H, Vn.16B, Vm.16B
#define VSADDLP(d, n) ENC2(0x4E602800, d, n)        // SADDLP Vd.4S, Vn.8H: [n0+n1, n2+n3, n4+n5, n6+n7]
#define VSADALP(d, n) ENC2(0x4E606800, d, n)        // SADALP Vd.4S, Vn.8H: d += the same pairs
#define VADDP(d, n, m) ENC3(0x4EA0BC00, d, n, m)    // ADDP   Vd.4S, Vn.4S, Vm.4S: [n0+n1, n2+n3, m0+m1, m2+m3]
#define VADD(d, n, m) ENC3(0x4EA08400, d, n, m)     // ADD    Vd.4S, Vn.4S, Vm.4S
#define VMUL(d, n, m) ENC3(0x4EA09C00, d, n, m)     // MUL    Vd.4S, Vn.4S, Vm.4S
#define VMLAE(d, n, m, i) ENCE(0x6F800000, d, n, m, i) // MLA Vd.4S, Vn.4S, Vm.S[i]
#define SADDV(d, n) ENC2(0x4EB1B800, d, n)          // ADDV   Sd, Vn.4S
#define VAND(d, n, m) ENC3(0x4E201C00, d, n, m)     // AND    Vd.16B, Vn.16B, Vm.16B
#define VORR(d, n, m) ENC3(0x4EA01C00, d, n, m)     // ORR    Vd.16B, Vn.16B, Vm.16B
#define VEOR(d, n, m) ENC3(0x6E201C00, d, n, m)     // EOR    Vd.16B, Vn.16B, Vm.16B
#define VSUBB(d, n, m) ENC3(0x6E208400, d, n, m)    // SUB    Vd.16B, Vn.16B, Vm.16B
#define VSHLB(d, n, s) ENC2(0x4F085400 | ((s)<<16), d, n)      // SHL  Vd.16B, Vn.16B, #s (s < 8)
#define VUSHRB(d, n, s) ENC2(0x6F000400 | ((16-(s))<<16), d, n) // USHR Vd.16B, Vn.16B, #s (1 ≤ s ≤ 8)
#define VMOVIB(d, imm) WORD $(0x4F00E400 | (((imm)>>5)<<16) | (((imm)&31)<<5) | (d)) // MOVI Vd.16B, #imm
#define VSXTLB(d, n) ENC2(0x0F08A400, d, n)         // SXTL   Vd.8H, Vn.8B
#define VSXTL2B(d, n) ENC2(0x4F08A400, d, n)        // SXTL2  Vd.8H, Vn.16B
#define VSXTLH(d, n) ENC2(0x0F10A400, d, n)         // SXTL   Vd.4S, Vn.4H
#define VSXTL2H(d, n) ENC2(0x4F10A400, d, n)        // SXTL2  Vd.4S, Vn.8H
#define VUXTLB(d, n) ENC2(0x2F08A400, d, n)         // UXTL   Vd.8H, Vn.8B
#define VUXTLH(d, n) ENC2(0x2F10A400, d, n)         // UXTL   Vd.4S, Vn.4H
#define VUXTL2H(d, n) ENC2(0x6F10A400, d, n)        // UXTL2  Vd.4S, Vn.8H

// scalars in the low lane
#define SFCVTHS(d, n) ENC2(0x1EE24000, d, n)         // FCVT  Sd, Hn (exact)
#define SFMUL(d, n, m) ENC3(0x1E200800, d, n, m)     // FMUL  Sd, Sn, Sm
#define SFNMUL(d, n, m) ENC3(0x1E208800, d, n, m)    // FNMUL Sd, Sn, Sm: −(n·m)
#define SFADD(d, n, m) ENC3(0x1E202800, d, n, m)     // FADD  Sd, Sn, Sm
#define SFMADD(d, n, m, a) WORD $(0x1F000000 | ((m)<<16) | ((a)<<10) | ((n)<<5) | (d)) // FMADD Sd, Sn, Sm, Sa: a + n·m, fused
#define SSCVTF(d, n) ENC2(0x5E21D800, d, n)          // SCVTF Sd, Sn (int32 → float32)
#define SFMOVW(d, n) ENC2(0x1E270000, d, n)          // FMOV  Sd, Wn (n a general register number)
#define VTBL1(d, n, m) ENC3(0x4E000000, d, n, m)     // TBL   Vd.16B, {Vn.16B}, Vm.16B
#define VCMTST(d, n, m) ENC3(0x4E208C00, d, n, m)    // CMTST Vd.16B, Vn.16B, Vm.16B: 0xFF where n&m ≠ 0
#define VFSUB(d, n, m) ENC3(0x4EA0D400, d, n, m)     // FSUB  Vd.4S, Vn.4S, Vm.4S
#define VFMLS(d, n, m) ENC3(0x4EA0CC00, d, n, m)     // FMLS  Vd.4S, Vn.4S, Vm.4S: d −= n·m, fused
#define VFDIV(d, n, m) ENC3(0x6E20FC00, d, n, m)     // FDIV  Vd.4S, Vn.4S, Vm.4S
#define VFACGT(d, n, m) ENC3(0x6EA0EC00, d, n, m)    // FACGT Vd.4S, Vn.4S, Vm.4S: all ones where |n| > |m|
#define VFCMLEZ(d, n) ENC2(0x6EA0D800, d, n)         // FCMLE Vd.4S, Vn.4S, #0: all ones where n ≤ 0
#define VBSL(d, n, m) ENC3(0x6E601C00, d, n, m)      // BSL   Vd.16B, Vn.16B, Vm.16B: d ? n : m, bit by bit
#define VSUB(d, n, m) ENC3(0x6EA08400, d, n, m)      // SUB   Vd.4S, Vn.4S, Vm.4S
#define VSHL23(d, n) ENC2(0x4F375400, d, n)          // SHL   Vd.4S, Vn.4S, #23
#define VDUPS0(d, n) ENC2(0x4E040400, d, n)          // DUP   Vd.4S, Vn.S[0]
#define SFCVTSD(d, n) ENC2(0x1E22C000, d, n)         // FCVT  Dd, Sn (exact)
#define DFADD(d, n, m) ENC3(0x1E602800, d, n, m)     // FADD  Dd, Dn, Dm
#define VFABS(d, n) ENC2(0x4EA0F800, d, n)           // FABS  Vd.4S, Vn.4S
#define VFCMGT(d, n, m) ENC3(0x6EA0E400, d, n, m)    // FCMGT Vd.4S, Vn.4S, Vm.4S: all ones where n > m
#define VFCMEQZ(d, n) ENC2(0x4EA0D800, d, n)         // FCMEQ Vd.4S, Vn.4S, #0
#define VBIC(d, n, m) ENC3(0x4E601C00, d, n, m)      // BIC   Vd.16B, Vn.16B, Vm.16B: n &^ m
#define VFRINTN(d, n) ENC2(0x4E218800, d, n)         // FRINTN Vd.4S, Vn.4S (to integral, ties to even)
#define VFCVTZS(d, n) ENC2(0x4EA1B800, d, n)         // FCVTZS Vd.4S, Vn.4S
#define VSQXTN(d, n) ENC2(0x0E614800, d, n)          // SQXTN  Vd.4H, Vn.4S
#define VSQXTN2(d, n) ENC2(0x4E614800, d, n)         // SQXTN2 Vd.8H, Vn.4S
#define VSQXTNB(d, n) ENC2(0x0E214800, d, n)         // SQXTN  Vd.8B, Vn.8H
#define VSQXTN2B(d, n) ENC2(0x4E214800, d, n)        // SQXTN2 Vd.16B, Vn.8H
#define VXTN(d, n) ENC2(0x0E612800, d, n)            // XTN    Vd.4H, Vn.4S
#define VXTN2(d, n) ENC2(0x4E612800, d, n)           // XTN2   Vd.8H, Vn.4S
#define VXTNB(d, n) ENC2(0x0E212800, d, n)           // XTN    Vd.8B, Vn.8H
#define VXTN2B(d, n) ENC2(0x4E212800, d, n)          // XTN2   Vd.16B, Vn.8H
#define SFDIV(d, n, m) ENC3(0x1E201800, d, n, m)     // FDIV  Sd, Sn, Sm
#define SFCVTSH(d, n) ENC2(0x1E23C000, d, n)         // FCVT  Hd, Sn (to nearest even)
#define VSMIN(d, n, m) ENC3(0x4EA06C00, d, n, m)     // SMIN  Vd.4S, Vn.4S, Vm.4S
#define SSADDLVB(d, n) ENC2(0x4E303800, d, n)        // SADDLV Hd, Vn.16B (signed, widened to 16 bits)
