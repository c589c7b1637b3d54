package dev.vigil.guardrails;

public enum MetricRole { SUCCESS, GUARDRAIL }
