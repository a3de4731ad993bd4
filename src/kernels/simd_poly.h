// The Cephes polynomials of expf and logf, written once for any float vector type F, so that the
// AVX2 (F32x8, simd_avx2.h) and AVX-512 (F32x16, simd_avx512.h) exp and log differ only in their
// range reduction, where the ISAs do differ. F supplies:
//   F::V set1(float); F::V add(V, V); F::V mul(V, V);
//   F::V fmadd(V a, V b, V c): a·b + c;  F::V fnmadd(V a, V b, V c): c − a·b
// Anonymous namespace: each instantiation stays in the file of its ISA
// (tests/isa/check_isa_objects.py).
#pragma once

namespace onprem::kernels {
namespace {

// The two parts of ln 2 (a short high part, so that n·kLn2Hi is exact for the n exp and log meet).
inline constexpr float kLn2Hi = 0.693359375f, kLn2Lo = -2.12194440e-4f;

// e^r for |r| <= ln2/2.
template <class F>
typename F::V exp_reduced(typename F::V r) {
  typename F::V p = F::set1(1.9875691500E-4f);
  p = F::fmadd(p, r, F::set1(1.3981999507E-3f));
  p = F::fmadd(p, r, F::set1(8.3334519073E-3f));
  p = F::fmadd(p, r, F::set1(4.1665795894E-2f));
  p = F::fmadd(p, r, F::set1(1.6666665459E-1f));
  p = F::fmadd(p, r, F::set1(5.0000001201E-1f));
  return F::fmadd(p, F::mul(r, r), F::add(r, F::set1(1.0f)));
}

// r = x − n·ln2, in two steps (kLn2Hi, kLn2Lo) so that no precision is lost.
template <class F>
typename F::V exp_remainder(typename F::V x, typename F::V n) {
  return F::fnmadd(n, F::set1(kLn2Lo), F::fnmadd(n, F::set1(kLn2Hi), x));
}

// ln(2^e · (1 + m)) for m in [sqrt(1/2) − 1, sqrt(2) − 1).
template <class F>
typename F::V log_reduced(typename F::V m, typename F::V e) {
  const typename F::V z = F::mul(m, m);
  typename F::V p = F::set1(7.0376836292E-2f);
  p = F::fmadd(p, m, F::set1(-1.1514610310E-1f));
  p = F::fmadd(p, m, F::set1(1.1676998740E-1f));
  p = F::fmadd(p, m, F::set1(-1.2420140846E-1f));
  p = F::fmadd(p, m, F::set1(1.4249322787E-1f));
  p = F::fmadd(p, m, F::set1(-1.6668057665E-1f));
  p = F::fmadd(p, m, F::set1(2.0000714765E-1f));
  p = F::fmadd(p, m, F::set1(-2.4999993993E-1f));
  p = F::fmadd(p, m, F::set1(3.3333331174E-1f));
  p = F::mul(F::mul(p, m), z);
  p = F::fmadd(e, F::set1(kLn2Lo), p);
  p = F::fnmadd(z, F::set1(0.5f), p);
  return F::fmadd(e, F::set1(kLn2Hi), F::add(m, p));
}

}  // namespace
}  // namespace onprem::kernels
