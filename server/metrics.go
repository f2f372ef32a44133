// Reference: Prometheus' instrumentation guidelines (https://prometheus.io/docs/practices/instrumentation/,
// base units, _total counters) and the metric families vLLM and llama.cpp's servers export
// (time to first token, time per output token, queue depth).

package server

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics are one server's Prometheus collectors, in a registry of its own
// (no global state: two servers in one process, as in tests, do not clash).
type metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec   // endpoint (the route pattern), status
	duration         *prometheus.HistogramVec // endpoint
	promptTokens     *prometheus.CounterVec   // model
	completionTokens *prometheus.CounterVec   // model
	cachedTokens     *prometheus.CounterVec   // model: prompt tokens found in the prefix cache (sched.go); ÷ promptTokens = hit rate
	ttft             *prometheus.HistogramVec // model: queue wait + prefill + first token
	tokenLatency     *prometheus.HistogramVec // model: time between consecutive tokens
	queueWait        *prometheus.HistogramVec // model
	queueDepth       *prometheus.GaugeVec     // model: requests waiting for a session
	loadedModels     prometheus.Gauge
	modelBytes       *prometheus.GaugeVec // model: weights + KV caches + buffers
}

func newMetrics() *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	f := func(c prometheus.Collector) { m.reg.MustRegister(c) }
	latency := []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}
	perToken := []float64{.0005, .001, .002, .005, .01, .02, .05, .1, .2, .5, 1}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gptgo_http_requests_total", Help: "HTTP requests by endpoint and status."}, []string{"endpoint", "status"})
	m.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gptgo_http_request_duration_seconds", Help: "Time from request to the end of the response (whole streams included).", Buckets: latency}, []string{"endpoint"})
	m.promptTokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gptgo_prompt_tokens_total", Help: "Prompt tokens processed (cached ones included)."}, []string{"model"})
	m.cachedTokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gptgo_prompt_cached_tokens_total", Help: "Prompt tokens taken from the batch scheduler's prefix cache instead of computed."}, []string{"model"})
	m.completionTokens = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gptgo_completion_tokens_total", Help: "Tokens generated."}, []string{"model"})
	m.ttft = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gptgo_time_to_first_token_seconds", Help: "Time from a request's arrival at the model to its first generated token (queue wait included).", Buckets: latency}, []string{"model"})
	m.tokenLatency = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gptgo_time_per_output_token_seconds", Help: "Time between consecutive generated tokens of a request (inter-token latency).", Buckets: perToken}, []string{"model"})
	m.queueWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gptgo_queue_wait_seconds", Help: "Time a request waited for a free session of its model.", Buckets: latency}, []string{"model"})
	m.queueDepth = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gptgo_queue_depth", Help: "Requests waiting for a session of the model."}, []string{"model"})
	m.loadedModels = prometheus.NewGauge(prometheus.GaugeOpts{Name: "gptgo_loaded_models", Help: "Models in memory."})
	m.modelBytes = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "gptgo_model_memory_bytes", Help: "Memory of a loaded model: weights, KV caches and buffers."}, []string{"model"})
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.promptTokens, m.completionTokens, m.cachedTokens, m.ttft, m.tokenLatency, m.queueWait, m.queueDepth, m.loadedModels, m.modelBytes} {
		f(c)
	}
	f(collectors.NewGoCollector())
	f(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the registry in Prometheus' text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}
