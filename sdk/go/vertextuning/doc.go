// Vertex AI Gemini supervised tuning jobs as a Pulumi resource (TuningJob), with the fingerprint adoption, quality gate and serving guarantee of the pulumi-vertex-tuning distribution.
package vertextuning
