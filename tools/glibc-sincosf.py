#!/usr/bin/env python3
# Reference: glibc's sinf, cosf and sincosf, called through ctypes from this machine's libm.
"""The golden values of kernel.SinCos32 (kernel/testdata/sincosf_glibc.txt).

  GPTGO_SINCOS_DUMP=/tmp/in.bin go test ./kernel/ -run TestSinCos32MatchesGlibc   # writes the inputs
  tools/glibc-sincosf.py /tmp/in.bin

Reads float32 inputs (little-endian) and prints: their number and how often sincosf differs from sinf and cosf
(never, on glibc 2.36); the SHA-256 of glibc's (sin, cos) bits, input by input; then the first 64 inputs where
those differ from the correctly rounded float32 of the float64 sine or cosine (input, sin, cos as hex bits)."""
import ctypes, hashlib, math, struct, sys
import numpy as np
libm = ctypes.CDLL('libm.so.6')
libm.sinf.restype = libm.cosf.restype = ctypes.c_float
libm.sinf.argtypes = libm.cosf.argtypes = [ctypes.c_float]
sincosf = libm.sincosf
sincosf.argtypes = [ctypes.c_float, ctypes.POINTER(ctypes.c_float), ctypes.POINTER(ctypes.c_float)]
xs = np.fromfile(sys.argv[1], dtype='<f4')
h = hashlib.sha256()
diff = []
s, c = ctypes.c_float(), ctypes.c_float()
mism = 0
for x in xs:
    xf = float(x)
    sincosf(xf, ctypes.byref(s), ctypes.byref(c))
    si, co = libm.sinf(xf), libm.cosf(xf)
    sb, cb = struct.pack('<f', s.value), struct.pack('<f', c.value)
    if struct.pack('<f', si) != sb or struct.pack('<f', co) != cb:
        mism += 1
    h.update(sb + cb)
    if len(diff) < 64:
        rs, rc = np.float32(math.sin(xf)), np.float32(math.cos(xf))
        if struct.pack('<f', rs) != sb or struct.pack('<f', rc) != cb:
            diff.append('%08x %08x %08x' % (struct.unpack('<I', struct.pack('<f', xf))[0], struct.unpack('<I', sb)[0], struct.unpack('<I', cb)[0]))
print('n', len(xs), 'sincosf!=sinf/cosf', mism)
print('sha256', h.hexdigest())
print('\n'.join(diff))
