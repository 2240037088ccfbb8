"""Batched Levenberg-Marquardt fit of a Dynes-broadened BCS DOS to many spectra at once.

The model of one spectrum (energies ``E`` in mV, ``e = E / E_max`` scaled to [-1, 1])::

    G(E) = (a0 + a1 e + a2 e^2) [(1 - w) N(E; Delta, Gamma) + w N(E; Delta_2, Gamma)]
    N(E; Delta, Gamma) = Re[z / (sqrt(z - Delta) sqrt(z + Delta))],   z = E + i Gamma

(the Dynes DOS; the product of principal square roots puts the branch cut on [-Delta, Delta],
so ``N`` is positive at both signs of ``E``). One gap: ``w = 0``. The background multiplies the
DOS (a normal-state conductance that varies slowly with bias); ``background_order`` 1 drops
``a2``. Optional thermal broadening convolves ``G`` with ``-df/dE`` of the Fermi function on the
bias axis (the DOS sampled on a finer axis). Every spectrum has its own parameters; all are
fitted together: the Jacobian is analytic (``dN/dDelta = Re[z Delta / r^3]``,
``dN/dGamma = Re[-i Delta^2 / r^3]``, ``r^2 = z^2 - Delta^2``), the normal equations
``(n_spectra, n_params, n_params)`` are solved batched with a damping per spectrum, raised where
a step fails and lowered where it succeeds. The DOS uses one complex root ``r`` (the sign of
``E``), which equals the product of principal roots above for ``Gamma > 0``.
"""

from __future__ import annotations

import numpy as np

KB_MEV_PER_K = 8.617333262e-2  # Boltzmann constant in meV / K


def dynes(energy, delta, gamma, derivatives=False):
    """Dynes DOS ``N`` of shape ``(n, n_energy)`` (and ``dN/dDelta``, ``dN/dGamma``), float32.

    ``energy`` ``(n_energy,)`` or ``(n, n_energy)`` in mV; ``delta``, ``gamma`` ``(n,)`` in mV.
    One complex square root: ``r = sqrt(z^2 - Delta^2)`` takes the sign of ``E`` (the branch of
    the product of principal roots, for ``Gamma > 0``). complex64: the spectra are float32 and
    the fit's normal equations are solved in float64.
    """
    energy = np.asarray(energy, dtype=np.float32)
    shape = np.broadcast_shapes(energy.shape, (len(delta), 1))
    z = np.empty(shape, dtype=np.complex64)
    z.real = energy
    z.imag = np.asarray(gamma, dtype=np.float32)[:, None]
    square = z * z
    square -= (np.asarray(delta, dtype=np.float32) ** 2)[:, None]
    root = np.sqrt(square)
    root *= np.where(energy < 0, np.float32(-1), np.float32(1))
    dos = (z / root).real
    if not derivatives:
        return dos
    cube = 1 / (root * square)
    d_delta = (z * cube).real * np.asarray(delta, dtype=np.float32)[:, None]
    d_gamma = cube.imag * (np.asarray(delta, dtype=np.float32) ** 2)[:, None]
    return dos, d_delta, d_gamma


def thermal_axis(bias_mV, temperature_K):
    """Fine energies and the matrix ``(n_bias, n_fine)`` convolving with ``-df/dE``.

    The DOS is sampled on a finer axis (step the smaller of half the bias step and ``kT / 8``)
    reaching ``8 kT`` beyond the bias window, so that sharp coherence peaks integrate correctly;
    each row of the kernel sums to 1.
    """
    kt = KB_MEV_PER_K * float(temperature_K)
    step = min(0.5 * float(bias_mV[1] - bias_mV[0]), kt / 8)
    fine = np.arange(bias_mV[0] - 8 * kt, bias_mV[-1] + 8 * kt + step, step)
    offset = (bias_mV[:, None] - fine[None, :]) / (2 * kt)
    kernel = 1.0 / np.cosh(np.clip(offset, -300, 300)) ** 2
    return fine, (kernel / kernel.sum(axis=1, keepdims=True)).astype(np.float32)


class _Model:
    """The model and its Jacobian for parameter rows ``theta`` ``(n, n_params)``.

    Parameter order: ``Delta, Gamma`` (+ ``Delta_2, w`` for two gaps) (+ ``a``, the gap
    anisotropy, with ``n_angles``), then ``a0 .. a_order``. With ``temperature_K`` the DOS lives
    on a fine axis and is convolved onto ``bias_mV``. An anisotropic gap is ``Delta(theta) =
    Delta (1 - a + a |cos 2 theta|)`` (``a`` near 1: V-shaped, as FeSe), the DOS its average over
    ``n_angles`` angles of a quarter Fermi surface, the same for both gaps.
    """

    def __init__(self, bias_mV, n_gaps, background_order, temperature_K=None, n_angles=0):
        self.bias = bias_mV
        self.kernel = None
        self.energy = bias_mV
        if temperature_K is not None:
            self.energy, self.kernel = thermal_axis(bias_mV, temperature_K)
        self.scale = max(float(np.abs(bias_mV).max()), 1e-12)
        e = self.energy / self.scale
        self.n_gaps = n_gaps
        self.n_nonlinear = (2 if n_gaps == 1 else 4) + (1 if n_angles else 0)
        angles = (np.arange(n_angles) + 0.5) * (np.pi / 4) / max(n_angles, 1)
        self.cosines = np.abs(np.cos(2 * angles)).astype(np.float32)
        self.powers = np.stack([e**k for k in range(background_order + 1)]).astype(np.float32)

    def _band(self, energy, delta, gamma, anisotropy, derivatives):
        """One band's DOS (and its derivatives by Delta, Gamma and the anisotropy)."""
        if not len(self.cosines):
            out = dynes(energy, delta, gamma, derivatives)
            return (*out, None) if derivatives else out
        k = len(self.cosines)
        factors = 1 - anisotropy[:, None] + anisotropy[:, None] * self.cosines[None, :]
        rows = energy if np.ndim(energy) == 1 else np.repeat(energy, k, axis=0)
        out = dynes(rows, (delta[:, None] * factors).ravel(), np.repeat(gamma, k), derivatives)
        if not derivatives:
            return out.reshape(len(delta), k, -1).mean(axis=1)
        dos, d_delta, d_gamma = (part.reshape(len(delta), k, -1) for part in out)
        factors = factors.astype(np.float32)[:, :, None]
        spread = (delta[:, None] * (self.cosines[None, :] - 1)).astype(np.float32)[:, :, None]
        return (
            dos.mean(axis=1),
            (d_delta * factors).mean(axis=1),
            d_gamma.mean(axis=1),
            (d_delta * spread).mean(axis=1),
        )

    def mixture(self, theta, derivatives=False, energy=None):
        """The DOS mixture ``(n, n_energy)``; with derivatives, the list of them by each
        non-linear parameter in order. ``energy`` (default the model's) may be per row."""
        energy = self.energy if energy is None else energy
        anisotropy = theta[:, self.n_nonlinear - 1] if len(self.cosines) else None
        first = self._band(energy, theta[:, 0], theta[:, 1], anisotropy, derivatives)
        if self.n_gaps == 1:
            if not derivatives:
                return first
            return first[0], [d for d in first[1:] if d is not None]
        w = theta[:, 3:4].astype(np.float32)
        second = self._band(energy, theta[:, 2], theta[:, 1], anisotropy, derivatives)
        if not derivatives:
            return (1 - w) * first + w * second
        (n1, d1_delta, d1_gamma, d1_a), (n2, d2_delta, d2_gamma, d2_a) = first, second
        parts = [(1 - w) * d1_delta, (1 - w) * d1_gamma + w * d2_gamma, w * d2_delta, n2 - n1]
        if d1_a is not None:
            parts.append((1 - w) * d1_a + w * d2_a)
        return (1 - w) * n1 + w * n2, parts

    def _convolve(self, values):
        return values if self.kernel is None else values @ self.kernel.T

    def __call__(self, theta):
        mix = self.mixture(theta)
        background = theta[:, self.n_nonlinear :].astype(np.float32) @ self.powers
        return self._convolve(background * mix)

    def with_jacobian(self, theta):
        mix, parts = self.mixture(theta, derivatives=True)
        background = (theta[:, self.n_nonlinear :] @ self.powers).astype(np.float32)
        shape = (len(theta), len(self.bias), len(parts) + len(self.powers))
        jacobian = np.empty(shape, np.float32)
        for j, derivative in enumerate(parts):  # in the order of the parameters
            jacobian[..., j] = self._convolve(background * derivative)
        for j, power in enumerate(self.powers, start=len(parts)):
            jacobian[..., j] = self._convolve(mix * power)
        return self._convolve(background * mix), jacobian


def linear_background(model, theta, X, weights):
    """Least-squares background coefficients for fixed gap parameters (the fit's start)."""
    mix = model.mixture(theta)
    basis = np.stack([model._convolve(mix * power) for power in model.powers], axis=-1)
    weighted = basis * weights[:, :, None]
    normal = np.einsum("nbp,nbq->npq", weighted, basis) + 1e-12 * np.eye(basis.shape[-1])
    rhs = np.einsum("nbp,nb->np", weighted, X)
    return np.linalg.solve(normal, rhs[..., None])[..., 0]


def fit(model, X, weights, theta, lower, upper, max_iter=60, tol=1e-4, ordered=None):
    """Levenberg-Marquardt on all rows of ``X`` ``(n, n_bias)`` at once.

    ``weights`` ``(n, n_bias)`` (0 outside each spectrum's fit window); ``theta`` the start
    ``(n, n_params)``; ``lower``/``upper`` bounds ``(n, n_params)`` enforced by clipping each
    step; ``ordered=(i, j)`` keeps parameter ``j`` <= parameter ``i`` (the second gap below the
    first). A row stops when an accepted step changes no parameter by more than ``tol`` of its
    size (or of the bias scale for a gap), or when its damping passes 1e6 (no step helps).
    Each iteration evaluates the model and its Jacobian once, at the trial parameters: the
    Jacobian of an accepted trial is the next iteration's. Returns the fitted ``theta`` and the
    number of iterations each row took.
    """
    X, weights = np.asarray(X, np.float32), np.asarray(weights, np.float32)

    def clip(values, low, high):
        values = np.clip(values, low, high)
        if ordered is not None:
            values[:, ordered[1]] = np.minimum(values[:, ordered[1]], values[:, ordered[0]])
        return values

    theta = clip(theta.astype(float), lower, upper)
    n, n_params = theta.shape
    damping = np.full(n, 1e-3)
    values, jac = model.with_jacobian(theta)
    cost = np.sum(weights * (X - values) ** 2, axis=1, dtype=float)
    active = np.isfinite(cost)
    iterations = np.zeros(n, dtype=int)
    eye = np.eye(n_params)
    scale = np.abs(theta).mean(axis=0) + 1e-12  # parameter scale for the step criterion
    for _ in range(max_iter):
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        every = rows.size == n
        t, w, x = theta[rows], weights[rows], X[rows]
        jac_rows = jac if every else jac[rows]
        weighted = (jac_rows * w[:, :, None]).transpose(0, 2, 1)
        normal = np.matmul(weighted, jac_rows).astype(float)
        gradient = np.matmul(weighted, (x - values[rows])[:, :, None])[..., 0].astype(float)
        diagonal = np.einsum("npp->np", normal) + 1e-12
        system = normal + damping[rows, None, None] * diagonal[:, :, None] * eye
        try:
            step = np.linalg.solve(system, gradient[..., None])[..., 0]
        except np.linalg.LinAlgError:  # a singular row: the pseudo-inverse for all of them
            step = np.einsum("npq,nq->np", np.linalg.pinv(system), gradient)
        trial = clip(t + np.nan_to_num(step), lower[rows], upper[rows])
        trial_values, trial_jac = model.with_jacobian(trial)
        trial_cost = np.sum(w * (x - trial_values) ** 2, axis=1, dtype=float)
        better = np.isfinite(trial_cost) & (trial_cost < cost[rows])
        accepted = rows[better]
        change = np.abs(trial - t) / np.maximum(np.abs(t), scale)
        theta[accepted], cost[accepted] = trial[better], trial_cost[better]
        values[accepted], jac[accepted] = trial_values[better], trial_jac[better]
        damping[rows] = np.where(better, damping[rows] * 0.3, damping[rows] * 10.0)
        settled = better & (change.max(axis=1) < tol)
        iterations[rows] += 1
        active[rows[settled | (damping[rows] > 1e6)]] = False
    return theta, iterations
