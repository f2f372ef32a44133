// Reference: Intel SDM vol. 2 (CPUID feature flags); golang.org/x/sys/cpu (the detection we rely on).

package kernel

import (
	"runtime"
	"strings"

	"golang.org/x/sys/cpu"
)

// The kernels are chosen once, at package initialisation: each amd64 file
// reassigns its dotX / quantizeX variables to the assembly routine when the
// CPU has what it needs, and records the routine's name here. Nothing changes
// afterwards, so concurrent readers of those variables need no locking.

// hasAVX2FMA reports whether the AVX2+FMA kernels may run: both instruction
// sets present and the OS saving the YMM registers (x/sys/cpu folds the
// OSXSAVE check into HasAVX2).
var hasAVX2FMA = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// asmBuilt is set by cpu_amd64.go and cpu_arm64.go, which the purego tag
// leaves out.
var asmBuilt bool

// neonISA names the arm64 instruction sets the assembly uses ("NEON",
// "NEON+dotprod"); set by cpu_arm64.go, empty elsewhere.
var neonISA string

// accelerated lists, in the order they were installed, the kernels that run
// as assembly rather than plain Go. Written only by init functions.
var accelerated []string

// useAsm records that the kernel named name now runs as assembly.
func useAsm(name string) { accelerated = append(accelerated, name) }

// Features describes the kernels this process selected, for `gptgo version`
// and benchmark output: the architecture, the instruction sets the assembly
// uses, and which kernels run in assembly; or that everything is plain Go.
func Features() string {
	var b strings.Builder
	b.WriteString(runtime.GOARCH)
	if len(accelerated) == 0 {
		b.WriteString(": plain Go kernels")
		if (runtime.GOARCH == "amd64" || runtime.GOARCH == "arm64") && !asmBuilt {
			b.WriteString(" (purego build)")
		} else if runtime.GOARCH == "amd64" && !hasAVX2FMA {
			b.WriteString(" (CPU lacks AVX2+FMA)")
		}
		return b.String()
	}
	if neonISA != "" {
		b.WriteString(": " + neonISA + " assembly for ")
		b.WriteString(strings.Join(accelerated, " "))
		return b.String()
	}
	b.WriteString(": AVX2+FMA")
	if cpu.X86.HasF16C {
		b.WriteString("+F16C")
	}
	for _, a := range accelerated {
		if strings.HasSuffix(a, "-vnni") {
			b.WriteString(" (+AVX512-VNNI)")
			break
		}
	}
	b.WriteString(" assembly for ")
	b.WriteString(strings.Join(accelerated, " "))
	return b.String()
}
