"""Batched Levenberg-Marquardt fit of a Dynes-broadened BCS DOS to many spectra at once.

The model of one spectrum (energies ``E`` in mV, ``e = E / E_max`` scaled to [-1, 1])::

    G(E) = (a0 + a1 e + a2 e^2) [(1 - w) N(E; Delta, Gamma) + w N(E; Delta_2, Gamma)]
    N(E; Delta, Gamma) = Re[z / (sqrt(z - Delta) sqrt(z + Delta))],   z = E + i Gamma

(the Dynes DOS; the product of principal square roots puts the branch cut on [-Delta, Delta],
so ``N`` is positive at both signs of ``E``). One gap: ``w = 0``. The background multiplies the
DOS (a normal-state conductance that varies slowly with bias); ``background_order`` 1 drops
``a2``. Optional thermal broadening convolves ``G`` with ``-df/dE`` of the Fermi function on the
bias axis. Every spectrum has its own parameters; all are fitted together: the Jacobian is
analytic (``dN/dDelta = Re[z Delta / r^3]``, ``dN/dGamma = Re[-i Delta^2 / r^3]``, ``r^2 = z^2 -
Delta^2``), the normal equations ``(n_spectra, n_params, n_params)`` are solved batched with a
damping per spectrum, raised where a step fails and lowered where it succeeds.
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


def thermal_kernel(bias_mV, temperature_K):
    """Matrix ``(n_bias, n_bias)`` convolving a spectrum with ``-df/dE`` at ``temperature_K``.

    Rows are normalised to sum 1 (so the bias-window edges keep their level).
    """
    kt = KB_MEV_PER_K * float(temperature_K)
    offset = bias_mV[:, None] - bias_mV[None, :]
    kernel = 1.0 / (4 * kt * np.cosh(offset / (2 * kt)) ** 2)
    return kernel / kernel.sum(axis=1, keepdims=True)


class _Model:
    """The model and its Jacobian for parameter rows ``theta`` ``(n, n_params)``.

    Parameter order: ``Delta, Gamma`` (+ ``Delta_2, w`` for two gaps), then ``a0 .. a_order``.
    """

    def __init__(self, bias_mV, n_gaps, background_order, kernel=None):
        self.bias = bias_mV
        self.e = bias_mV / max(float(np.abs(bias_mV).max()), 1e-12)
        self.n_gaps = n_gaps
        self.n_nonlinear = 2 if n_gaps == 1 else 4
        self.powers = np.stack([self.e**k for k in range(background_order + 1)]).astype(np.float32)
        self.kernel = kernel

    def mixture(self, theta, derivatives=False):
        out = dynes(self.bias, theta[:, 0], theta[:, 1], derivatives)
        if self.n_gaps == 1:
            return out
        w = theta[:, 3:4]
        second = dynes(self.bias, theta[:, 2], theta[:, 1], derivatives)
        if not derivatives:
            return (1 - w) * out + w * second
        (n1, d1_delta, d1_gamma), (n2, d2_delta, d2_gamma) = out, second
        mix = (1 - w) * n1 + w * n2
        return mix, (1 - w) * d1_delta, (1 - w) * d1_gamma + w * d2_gamma, w * d2_delta, n2 - n1

    def _convolve(self, values):
        return values if self.kernel is None else values @ self.kernel.T

    def __call__(self, theta):
        mix = self.mixture(theta)
        background = theta[:, self.n_nonlinear :].astype(np.float32) @ self.powers
        return self._convolve(background * mix)

    def with_jacobian(self, theta):
        parts = self.mixture(theta, derivatives=True)
        mix = parts[0]
        background = theta[:, self.n_nonlinear :] @ self.powers
        jacobian = np.empty(mix.shape + (len(parts) - 1 + len(self.powers),), np.float32)
        for j, derivative in enumerate(parts[1:]):  # in the order of the parameters
            jacobian[..., j] = self._convolve(background * derivative)
        for j, power in enumerate(self.powers, start=len(parts) - 1):
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
