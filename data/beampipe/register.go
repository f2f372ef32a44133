//go:build beam

// Reference: the Beam Go SDK's register package: DoFns, emitters, iterators
// and element types are registered at init, so that a worker (prism's
// in-process one or a cluster's copy of this binary) finds them by name and
// calls them without reflection.

package beampipe

import (
	"reflect"

	"github.com/apache/beam/sdks/v2/go/pkg/beam"
	"github.com/apache/beam/sdks/v2/go/pkg/beam/register"
)

func init() {
	for _, t := range []any{Doc{}, fileTask{}, skipRec{}, unitAt{}, bandMember{}, verdict{}, tokDoc{}, tokCount{}, shardPlan{}, tally{}} {
		beam.RegisterType(reflect.TypeOf(t))
	}
	register.DoFn3x1[fileTask, func(Doc), func(skipRec), error](&readFn{})
	register.DoFn1x1[Doc, Doc](&mapFn{})
	register.Function3x0(exactKeyFn)
	register.Function3x0(exactKeepFn)
	register.Function2x0(keptFn)
	register.Function2x0(rejectedFn)
	register.DoFn4x0[Doc, func(uint64, unitAt), func(int64, Doc), func(Doc)](&lineKeyFn{})
	register.DoFn3x0[uint64, func(*unitAt) bool, func(int64, int32)](&lineRepeatFn{})
	register.DoFn4x0[int64, func(*Doc) bool, func(*int32) bool, func(Doc)](&lineCutFn{})
	register.DoFn4x0[Doc, func(string, bandMember), func(int64, Doc), func(Doc)](&minHashKeyFn{})
	register.Function3x0(bucketFn)
	register.DoFn4x1[[]byte, func(*bandMember) bool, func(int64, verdict), func(string), error](&resolveFn{})
	register.DoFn4x0[int64, func(*Doc) bool, func(*verdict) bool, func(Doc)](&minHashApplyFn{})
	register.DoFn4x0[Doc, func(Doc), func(tokDoc), func(tokCount)](&encodeFn{})
	register.DoFn2x1[[]byte, func(*tokCount) bool, shardPlan](&planFn{})
	register.Function2x2(assignFn)
	register.DoFn2x2[int, func(*tokDoc) bool, int, error](&writeShardFn{})
	register.DoFn2x2[[]byte, func(*Doc) bool, int, error](&writeDocsFn{})
	register.Combiner2[tally, Doc](&tallyFn{})
	register.DoFn7x1[[]byte, func(*tally) bool, func(*skipRec) bool, func(*string) bool, func(*shardPlan) bool, func(*int) bool, func(*int) bool, error](&reportFn{})

	register.Emitter1[Doc]()
	register.Emitter1[skipRec]()
	register.Emitter1[bandMember]()
	register.Emitter1[string]()
	register.Emitter1[tokDoc]()
	register.Emitter1[tokCount]()
	register.Emitter2[uint64, Doc]()
	register.Emitter2[uint64, unitAt]()
	register.Emitter2[int64, Doc]()
	register.Emitter2[int64, int32]()
	register.Emitter2[string, bandMember]()
	register.Emitter2[int64, verdict]()
	register.Iter1[Doc]()
	register.Iter1[unitAt]()
	register.Iter1[int32]()
	register.Iter1[bandMember]()
	register.Iter1[verdict]()
	register.Iter1[tokCount]()
	register.Iter1[tokDoc]()
	register.Iter1[tally]()
	register.Iter1[skipRec]()
	register.Iter1[string]()
	register.Iter1[shardPlan]()
	register.Iter1[int]()
}
