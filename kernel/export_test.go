package kernel

// CalculateSlow is every object through the slow path, the definition the
// fast paths are tested against.
var CalculateSlow = calculateSlow
