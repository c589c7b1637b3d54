package dev.vigil.common; public final class Placeholder {}
