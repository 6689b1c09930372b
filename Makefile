# Two commands on a fresh machine with Python >= 3.10 and pip:  make demo  and  make test
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: install demo test test-fast lint data full jets jets150 jetsgpu jetsfloor jetsmass \
	jetsoctaves jetsedge jetslowsigma jetspairs jetsprongsamplers jetsquantile jetsguided jetsmassloss jetsspread paired \
	bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)

## make demo: generate (or reuse) the demo data, train the default CFM, sample, report
demo: $(STAMP)
	$(BIN)/lhcgen demo --config configs/demo.yaml --workdir demo_output

## make test: the import-layer contracts (pyproject.toml) and the whole test suite
test: $(STAMP)
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

## make test-fast: skip the tests marked slow (Pythia runs, CLI end to end)
test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not slow"

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/lint-imports

## make data: the reference Z+jets samples (80k train, 40k test; about 2 h 15 min on 2 cores)
data: data/zjets_train.h5 data/zjets_test.h5
data/zjets_train.h5: | $(STAMP)
	$(BIN)/lhcgen data zjets --events 80000 --seed 1 --workers 2 --out $@
data/zjets_test.h5: | $(STAMP)
	$(BIN)/lhcgen data zjets --events 40000 --seed 2 --workers 2 --out $@

## make full: train configs/zjets_cfm.yaml on the reference samples (beyond the demo budget)
full: data
	$(BIN)/lhcgen train configs/zjets_cfm.yaml --out runs/cfm
	$(BIN)/lhcgen sample runs/cfm -n 200000 --out runs/cfm/generated.h5
	$(BIN)/lhcgen evaluate runs/cfm/generated.h5 --truth data/zjets_test.h5 --report runs/cfm/report

## make jets: the jets generators at 30 particles (JetNet-faithful data of the jet floor, then
## EDM, flow matching and the distilled EDM on top jets with the time-fidelity benchmark, then
## the transformer backbone against the CAE, the stochastic sampler's churn, then one EDM for
## all five types, then trained 10 epochs longer (distilled) and 10 more (distilled again),
## then 6 more with the rarest jet masses drawn more often, then judged on 50000 jets; about
## 14 hours on 2 CPU cores; every step resumes)
jets: $(STAMP)
	$(BIN)/python benchmarks/jet_floor.py --jets 50000 --types gqtwz --particles 30
	$(BIN)/lhcgen train configs/jets_edm.yaml --out runs/jets_edm --resume
	$(BIN)/lhcgen train configs/jets_cfm.yaml --out runs/jets_cfm --resume
	$(BIN)/lhcgen train configs/jets_consistency.yaml --out runs/jets_cd --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_cfm \
	    runs/jets_cd --truth 'data/jets/{type}30_b.h5' --truth-floor 'data/jets/{type}30_a.h5' \
	    --types t --jets 5000
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm --types t --jets 5000 \
	    --protocols file --samplers "heun:8 heun_dp:4,8,16 midpoint:8 midpoint_dp:4,8 rk4:4 \
	    rk4_dp:2,4 dpmpp_2m:8 dpmpp_2m:8@rho=3 heun:8@sigma_min=0.02" --name jets_samplers
	$(BIN)/lhcgen train configs/jets_edm_transformer.yaml --out runs/jets_edm_transformer --resume
	$(BIN)/lhcgen train configs/jets_consistency_transformer.yaml \
	    --out runs/jets_cd_transformer --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm \
	    runs/jets_edm_transformer runs/jets_cd runs/jets_cd_transformer --types t --jets 5000 \
	    --samplers "midpoint:8 heun:32" --name jets_backbones
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm \
	    runs/jets_edm_transformer --types t --jets 5000 --samplers midpoint:16 --name jets_steps_30
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm --types t --jets 20000 \
	    --protocols file --samplers midpoint:16 --name jets_steps_30_20k
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm --types t --jets 5000 \
	    --protocols file --samplers "heun:16 stochastic:16@s_churn=2 stochastic:16@s_churn=5 \
	    stochastic:16@s_churn=10 stochastic:16@s_churn=5@s_tmin=0.05@s_tmax=50 \
	    stochastic:16@s_churn=40@s_tmin=0.05@s_tmax=50 stochastic:32@s_churn=5" \
	    --name jets_churn
	$(BIN)/lhcgen data merge-jets data/jets/g30_a.h5 data/jets/q30_a.h5 data/jets/t30_a.h5 \
	    data/jets/w30_a.h5 data/jets/z30_a.h5 --out data/jets/all30_a.h5
	$(BIN)/lhcgen train configs/jets_edm_all.yaml --out runs/jets_edm_all --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all --types gqtwz \
	    --jets 5000 --samplers 'midpoint:16' --protocols file,independent,generated \
	    --name jets_time_fidelity_types
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all --types wz \
	    --jets 5000 --samplers 'midpoint:32 heun:32' --protocols file --name jets_steps_32_wz
	$(BIN)/lhcgen train configs/jets_edm_all_ft.yaml --out runs/jets_edm_all_ft --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_ft --types gqtwz \
	    --jets 5000 --samplers 'midpoint:16' --protocols file,independent,generated \
	    --name jets_time_fidelity_types_24
	$(BIN)/lhcgen train configs/jets_edm_all_ft2.yaml --out runs/jets_edm_all_ft2 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_ft2 --types gqtwz \
	    --jets 5000 --samplers 'midpoint:16' --protocols file,independent,generated \
	    --name jets_time_fidelity_types_34
	for seed in 1 2 3; do $(BIN)/python benchmarks/jets_time_fidelity.py \
	    --runs runs/jets_edm_all_ft2 --types tw --jets 5000 --samplers 'midpoint:16' \
	    --protocols generated --seed $$seed --name jets_time_fidelity_types_34_seed$$seed \
	    || exit 1; done
	for seed in 0 1 2 3; do $(BIN)/python benchmarks/jets_time_fidelity.py \
	    --runs runs/jets_edm_all_ft2 --types tw --jets 10000 --samplers 'midpoint:16' \
	    --protocols generated --seed $$seed \
	    --name jets_time_fidelity_types_34_10k$$( [ $$seed = 0 ] || echo _seed$$seed ) \
	    || exit 1; done
	for t in g q t w z; do [ -f data/jets/$${t}30_b50k.h5 ] || $(BIN)/lhcgen data jets \
	    --type $$t --jets 50000 --seed 3 --workers 2 --out data/jets/$${t}30_b50k.h5 \
	    || exit 1; done
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_ft2 --types tw \
	    --jets 50000 --samplers midpoint:16 --protocols generated \
	    --truth 'data/jets/{type}30_b50k.h5' --threads 2 --name jets_time_fidelity_types_34_50k
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_ft2 --types gqz \
	    --jets 50000 --samplers midpoint:16 --protocols generated \
	    --truth 'data/jets/{type}30_b50k.h5' --threads 2 \
	    --name jets_time_fidelity_types_34_50k_gqz
	for t in t w; do $(BIN)/lhcgen sample runs/jets_edm_all_ft2 -n 5000 --type $$t \
	    --condition-from data/jets/$${t}30_b.h5 --solver midpoint --steps 16 \
	    --out runs/$${t}_file.h5 && $(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/$${t}_file.h5 --truth data/jets/$${t}30_b.h5 \
	    --name jets_mass_response_$$t || exit 1; done
	$(BIN)/lhcgen train configs/jets_consistency_all.yaml --out runs/jets_cd_all --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_cd_all --types gqtwz \
	    --jets 5000 --samplers 'consistency:1,3' --protocols file,generated \
	    --name jets_time_fidelity_types_cd
	$(BIN)/lhcgen train configs/jets_consistency_all_ft2.yaml --out runs/jets_cd_all_ft2 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_cd_all_ft2 --types gqtwz \
	    --jets 5000 --samplers 'consistency:1,2,3' --protocols file,generated \
	    --name jets_time_fidelity_types_cd34
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_cd_all_ft2 --types gqtwz \
	    --jets 5000 --samplers "consistency:2 consistency:2@sigma_1=0.3 \
	    consistency:2@sigma_1=0.5 consistency:2@sigma_1=2 consistency:2@sigma_1=5" \
	    --protocols generated --name jets_renoise_2step
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_cd_all_ft2 --types gqtwz \
	    --jets 5000 --samplers "consistency:2@sigma_1=0.15 consistency:2@sigma_1=0.08 \
	    consistency:3@sigma_1=0.5@sigma_2=0.15" --protocols generated \
	    --name jets_renoise_2step_low
	$(BIN)/lhcgen train configs/jets_edm_all_rare.yaml --out runs/jets_edm_all_rare --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_rare --types gqtwz \
	    --jets 5000 --samplers 'midpoint:16' --protocols file,generated \
	    --name jets_time_fidelity_types_rare
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_all_rare --types tw \
	    --jets 5000 --samplers 'midpoint:16' --protocols generated --seed 1 \
	    --name jets_time_fidelity_types_rare_seed1

# the 10000-jet results of the 150-particle runs (make jets150): fully generated, seeds 0-2,
# and the last run with the file's kinematics
JETS150_10K_RESULTS := jets_time_fidelity_150_10k jets_time_fidelity_150_10k_seed1 \
	jets_time_fidelity_150_10k_seed2 jets_time_fidelity_150_ft_10k \
	jets_time_fidelity_150_ft_10k_seed1 jets_time_fidelity_150_ft_10k_seed2 \
	jets_time_fidelity_150_ft2_10k jets_time_fidelity_150_ft2_10k_seed1 \
	jets_time_fidelity_150_ft2_10k_seed2 jets_time_fidelity_150_ft2_10k_file
# the file name of the 8-epoch restart's kept samples (after t_generated_ or t_file_)
FT2_150 := jets_edm_150_octaves_ft2_midpoint_16_conserved.h5
# $(call t150_generated,RUN,TAG,SEEDS,JETS): JETS top jets at 150 particles fully generated
# by runs/RUN (midpoint, 16 steps, 2 threads) at each seed, then judged against the floor's
# files: jets_time_fidelity_150_TAG at seed 0, jets_time_fidelity_150_TAG_seedS otherwise
t150_generated = for s in $(3); do name=150_$(2)$$([ $$s = 0 ] || echo _seed$$s); \
	    $(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/$(1) \
	        --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	        --types t --jets $(4) --samplers 'midpoint:16' --threads 2 --protocols generated \
	        --seed $$s --generate-only --samples runs/samples_$$name \
	        --name jets_time_fidelity_$$name || exit 1; \
	    $(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_$$name \
	        --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	        --name jets_time_fidelity_$$name || exit 1; done

## make jets150: top jets at 150 particles (the data of the floor, the EDM and its distilled
## student, the EDM's sampler steps, then the time-fidelity benchmark of both, as the network
## made the constituents and with the pT sum conserved; then the EDM with octaves of the
## conditions trained for 24 epochs, configs/jets_edm_150_octaves.yaml, and its benchmark;
## then that recipe with the loss on the constituents' mass, configs/jets_edm_150_mass.yaml,
## its benchmark and the mass response of both; then the same with the loss's weight 0.34,
## configs/jets_edm_150_mass_weak.yaml, the mass response and the denoiser's mass of both
## weights and the mass response of weight 0.34 at 16, 32 and 64 steps; then the octaves run
## and weight 0.34 with and without the bound on the jet mass (bound_cloud_mass), the
## benchmark and the mass response; then what Pythia itself scores against the 150-particle
## floor (18 independent samples of 5000 jets) and the octaves run at 10000 jets in all three
## protocols with and without the bound, and fully generated with seeds 1 and 2; then 8
## samples of 10000 Pythia jets against the floor, the octaves run trained 12 epochs more
## (configs/jets_edm_150_octaves_ft.yaml) and 8 more again (configs/jets_edm_150_octaves_ft2.yaml),
## each at 10000 jets fully generated with seeds 0-2 (the last also with the file's
## kinematics), and the three runs against the mean floor with the verdict on 3x, then again
## against the mean of 14 truth samples (four more files of 50000, seeds 3-6, the first of
## them used here); then the last run at the protocol's 50000 jets fully generated, against
## the mean floor of five files of 50000, its FPD and KPD without the jets beyond the
## truth's EFP range, and the substructure (tau21, tau32, D2) of its samples at 50000 and
## 10000 jets; about 15 h on 2 CPU cores, 20-27 minutes of them the data; every step
## resumes)
jets150: $(STAMP)
	$(BIN)/python benchmarks/jet_floor.py --jets 50000 --types t --particles 150
	$(BIN)/lhcgen train configs/jets_edm_150.yaml --out runs/jets_edm_150 --resume
	$(BIN)/lhcgen train configs/jets_consistency_150.yaml --out runs/jets_cd_150 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 2000 --protocols file --samplers 'midpoint:8 midpoint:16 heun:32' --threads 2 \
	    --simulator-jets 100 --pt-sum raw --name jets_steps_150
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150 runs/jets_cd_150 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 5000 --samplers 'midpoint:8,16' --pt-sum raw --name jets_time_fidelity_150
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150 runs/jets_cd_150 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 5000 --samplers 'midpoint:16 consistency:1,2,3' --pt-sum both --name jets_pt_sum_150
	$(BIN)/lhcgen train configs/jets_edm_150_octaves.yaml --out runs/jets_edm_150_octaves --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_octaves \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 5000 --samplers 'midpoint:16' --threads 2 --generate-only \
	    --samples runs/samples_150_octaves --name jets_time_fidelity_150_octaves
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_octaves \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_octaves
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/samples_150_octaves/t_file_jets_edm_150_octaves_midpoint_16_conserved.h5 \
	    --truth data/jets/t150_b.h5 --truth-2 data/jets/t150_a.h5 --name jets_mass_response_150_octaves
	$(BIN)/lhcgen train configs/jets_edm_150_mass.yaml --out runs/jets_edm_150_mass --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_mass \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 5000 --samplers 'midpoint:16' --threads 2 --generate-only \
	    --samples runs/samples_150_mass --name jets_time_fidelity_150_mass
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_mass \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_mass
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/samples_150_mass/t_file_jets_edm_150_mass_midpoint_16_conserved.h5 \
	    --truth data/jets/t150_b.h5 --truth-2 data/jets/t150_a.h5 --name jets_mass_response_150_mass
	$(BIN)/lhcgen train configs/jets_edm_150_mass_weak.yaml --out runs/jets_edm_150_mass_weak --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_mass_weak \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 5000 --samplers 'midpoint:16' --threads 2 --generate-only \
	    --samples runs/samples_150_mass_weak --name jets_time_fidelity_150_mass_weak
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_mass_weak \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_mass_weak
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/samples_150_mass/t_file_jets_edm_150_mass_midpoint_16_conserved.h5 \
	    runs/samples_150_mass_weak/t_file_jets_edm_150_mass_weak_midpoint_16_conserved.h5 \
	    --truth data/jets/t150_b.h5 --truth-2 data/jets/t150_a.h5 \
	    --name jets_mass_response_150_mass_weak
	$(BIN)/python benchmarks/jets_denoised_mass.py --runs runs/jets_edm_150_mass \
	    runs/jets_edm_150_mass_weak --truth data/jets/t150_b.h5 --type t --jets 5000 \
	    --threads 2 --name jets_denoised_mass_150
	for steps in 16 32 64; do f=runs/mass_response_t150_jets_edm_150_mass_weak_midpoint$$steps.h5; \
	    [ -f $$f ] || $(BIN)/lhcgen sample runs/jets_edm_150_mass_weak -n 2000 --type t \
	    --condition-from data/jets/t150_b.h5 --solver midpoint --steps $$steps --threads 2 \
	    --out $$f || exit 1; done
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t150_jets_edm_150_mass_weak_midpoint16.h5 \
	    runs/mass_response_t150_jets_edm_150_mass_weak_midpoint32.h5 \
	    runs/mass_response_t150_jets_edm_150_mass_weak_midpoint64.h5 \
	    --truth data/jets/t150_b.h5 --truth-2 data/jets/t150_a.h5 \
	    --name jets_mass_response_150_mass_weak_steps
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_octaves \
	    runs/jets_edm_150_mass_weak --truth 'data/jets/{type}150_b.h5' \
	    --truth-floor 'data/jets/{type}150_a.h5' --types t --jets 5000 --samplers 'midpoint:16' \
	    --threads 2 --jet-mass both --generate-only --samples runs/samples_150_mass_bound \
	    --name jets_time_fidelity_150_mass_bound
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_mass_bound \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_mass_bound
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/samples_150_mass_bound/t_file_jets_edm_150_octaves_midpoint_16_conserved.h5 \
	    runs/samples_150_mass_bound/t_file_jets_edm_150_octaves_midpoint_16_conserved_mass_bounded.h5 \
	    runs/samples_150_mass_bound/t_file_jets_edm_150_mass_weak_midpoint_16_conserved.h5 \
	    runs/samples_150_mass_bound/t_file_jets_edm_150_mass_weak_midpoint_16_conserved_mass_bounded.h5 \
	    --truth data/jets/t150_b.h5 --truth-2 data/jets/t150_a.h5 \
	    --name jets_mass_response_150_mass_bound
	$(BIN)/python benchmarks/jets_floor_spread.py --types t --jets 5000 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --draws 'data/jets/{type}150_a.h5' 'data/jets/{type}150_b.h5' --name jets_floor_spread_150_5k
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_octaves \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 10000 --samplers 'midpoint:16' --threads 2 --protocols file,independent,generated \
	    --jet-mass both --generate-only --samples runs/samples_150_10k --name jets_time_fidelity_150_10k
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_10k \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_10k
	$(call t150_generated,jets_edm_150_octaves,10k,1 2,10000)
	$(BIN)/python benchmarks/jets_floor_spread.py --types t --jets 10000 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --draws 'data/jets/{type}150_a.h5' 'data/jets/{type}150_b.h5' --name jets_floor_spread_150_10k
	$(BIN)/lhcgen train configs/jets_edm_150_octaves_ft.yaml --out runs/jets_edm_150_octaves_ft --resume
	$(call t150_generated,jets_edm_150_octaves_ft,ft_10k,0 1 2,10000)
	$(BIN)/lhcgen train configs/jets_edm_150_octaves_ft2.yaml --out runs/jets_edm_150_octaves_ft2 --resume
	$(call t150_generated,jets_edm_150_octaves_ft2,ft2_10k,0 1 2,10000)
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_150_octaves_ft2 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' --types t \
	    --jets 10000 --samplers 'midpoint:16' --threads 2 --protocols file --generate-only \
	    --samples runs/samples_150_ft2_10k_file --name jets_time_fidelity_150_ft2_10k_file
	$(BIN)/python benchmarks/jets_time_fidelity.py --judge --samples runs/samples_150_ft2_10k_file \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --name jets_time_fidelity_150_ft2_10k_file
	$(BIN)/python benchmarks/jets_seed_spread.py --min-seeds 1 --results $(JETS150_10K_RESULTS) \
	    --reference jets_edm_150_octaves --floor-spread jets_floor_spread_150_10k --target 3 \
	    --name jets_seed_spread_150_10k_truth
	for f in c:3 d:4 e:5 f:6; do out=data/jets/t150_$${f%:*}50k.h5; [ -f $$out ] || \
	    $(BIN)/lhcgen data jets --type t --particles 150 --jets 50000 --seed $${f#*:} \
	    --workers 2 --out $$out || exit 1; done
	$(BIN)/python benchmarks/jets_floor_spread.py --types t --jets 10000 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --draws 'data/jets/{type}150_a.h5' 'data/jets/{type}150_b.h5' \
	    'data/jets/{type}150_c50k.h5' --name jets_floor_spread_150_10k_c
	$(BIN)/python benchmarks/jets_seed_spread.py --min-seeds 1 --results $(JETS150_10K_RESULTS) \
	    --reference jets_edm_150_octaves --floor-spread jets_floor_spread_150_10k_c --target 3 \
	    --name jets_seed_spread_150_10k_truth_c
	$(BIN)/python benchmarks/jets_floor_spread.py --types t --jets 50000 \
	    --truth 'data/jets/{type}150_b.h5' --truth-floor 'data/jets/{type}150_a.h5' \
	    --draws 'data/jets/{type}150_c50k.h5' 'data/jets/{type}150_d50k.h5' \
	    'data/jets/{type}150_e50k.h5' 'data/jets/{type}150_f50k.h5' --name jets_floor_spread_150_50k
	$(call t150_generated,jets_edm_150_octaves_ft2,ft2_50k,0,50000)
	$(BIN)/python benchmarks/jets_seed_spread.py --min-seeds 1 \
	    --results jets_time_fidelity_150_ft2_50k --floor-spread jets_floor_spread_150_50k \
	    --target 3 --name jets_seed_spread_150_50k_truth
	$(BIN)/python benchmarks/jets_efp_strays.py --type t --jets 50000 \
	    --truth data/jets/t150_b.h5 --truth-floor data/jets/t150_a.h5 \
	    --draws data/jets/t150_c50k.h5 data/jets/t150_d50k.h5 data/jets/t150_e50k.h5 \
	    data/jets/t150_f50k.h5 --generated runs/samples_150_ft2_50k/t_generated_$(FT2_150) \
	    --name jets_efp_strays_150_50k
	$(BIN)/python benchmarks/jets_substructure.py --type t --jets 50000 \
	    --truth data/jets/t150_b.h5 --truth-floor data/jets/t150_a.h5 \
	    --draws data/jets/t150_c50k.h5 data/jets/t150_d50k.h5 data/jets/t150_e50k.h5 \
	    data/jets/t150_f50k.h5 --generated runs/samples_150_ft2_50k/t_generated_$(FT2_150) \
	    --name jets_substructure_150_50k
	$(BIN)/python benchmarks/jets_substructure.py --type t --jets 10000 \
	    --truth data/jets/t150_b.h5 --truth-floor data/jets/t150_a.h5 \
	    --draws data/jets/t150_c50k.h5 data/jets/t150_d50k.h5 data/jets/t150_e50k.h5 \
	    data/jets/t150_f50k.h5 --generated runs/samples_150_ft2_10k/t_generated_$(FT2_150) \
	    runs/samples_150_ft2_10k_seed1/t_generated_$(FT2_150) \
	    runs/samples_150_ft2_10k_seed2/t_generated_$(FT2_150) \
	    runs/samples_150_ft2_10k_file/t_file_$(FT2_150) --name jets_substructure_150_10k

## make jetsgpu: the five-type EDM and its student on a GPU (DEVICE, default cuda; WORKERS
## Pythia processes, default all cores): the jet floor's data at 30 particles, both trained at
## batch 1024, the EDM's two warm restarts at batch 2048 (111 epochs in all), a conditions
## model trained afresh for 160 epochs on 2 CPU threads (7 min), the restarted network
## distilled again with that conditions model (28 min on 2 CPU threads) and that distillation
## carried on for 8 epochs more (53 min on 2 CPU threads), their time-fidelity
## and conditions benchmarks (generated and judged here) and the network cost at a batch that
## fills the GPU. On an NVIDIA H200 the training data took 5 min on 15 workers (the floor's
## second sample as long again), the two trainings 4 min and the restarts 5.5 min
## (docs/jets-generators.md, "The GPU rows"); every step resumes
DEVICE ?= cuda
WORKERS ?= $(shell nproc)
jetsgpu: $(STAMP)
	$(BIN)/python benchmarks/jet_floor.py --jets 50000 --types gqtwz --particles 30 \
	    --workers $(WORKERS)
	$(BIN)/lhcgen data merge-jets data/jets/g30_a.h5 data/jets/q30_a.h5 data/jets/t30_a.h5 \
	    data/jets/w30_a.h5 data/jets/z30_a.h5 --out data/jets/all30_a.h5
	$(BIN)/lhcgen train configs/jets_edm_all_gpu.yaml --out runs/jets_edm_all_gpu \
	    --device $(DEVICE) --threads 2 --resume
	$(BIN)/lhcgen train configs/jets_consistency_all_gpu.yaml --out runs/jets_cd_all_gpu \
	    --device $(DEVICE) --threads 2 --resume
	$(BIN)/lhcgen train configs/jets_edm_all_gpu_ft.yaml --out runs/jets_edm_all_gpu_ft \
	    --device $(DEVICE) --threads 2 --resume
	$(BIN)/lhcgen train configs/jets_edm_all_gpu_ft2.yaml --out runs/jets_edm_all_gpu_ft2 \
	    --device $(DEVICE) --threads 2 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --device $(DEVICE) \
	    --runs runs/jets_edm_all_gpu runs/jets_cd_all_gpu --types tgqwz --jets 5000 \
	    --samplers 'midpoint:16 consistency:2@sigma_1=0.3 consistency:3' \
	    --protocols generated --name jets_time_fidelity_gpu
	$(BIN)/python benchmarks/jets_time_fidelity.py --device $(DEVICE) \
	    --runs runs/jets_edm_all_gpu_ft2 --types gqtwz --jets 5000 --samplers midpoint:16 \
	    --protocols generated --name jets_time_fidelity_gpu_jets_edm_all_gpu_ft2
	$(BIN)/lhcgen train configs/jets_edm_all_gpu_ft2_conditions.yaml \
	    --out runs/jets_edm_all_gpu_ft2_conditions --device cpu --threads 2 --resume
	$(BIN)/python benchmarks/jets_conditions.py \
	    --runs runs/jets_edm_all_gpu_ft2,runs/jets_edm_all_gpu_ft2_conditions --types gqtwz \
	    --jets 50000 --name jets_conditions_gpu_ft2_50k
	$(BIN)/python benchmarks/jets_time_fidelity.py --device $(DEVICE) \
	    --runs runs/jets_edm_all_gpu_ft2_conditions --types gqtwz --jets 5000 \
	    --samplers midpoint:16 --protocols generated --name jets_time_fidelity_gpu_ft2_conditions
	$(BIN)/lhcgen train configs/jets_consistency_all_gpu_ft2.yaml --out runs/jets_cd_all_gpu_ft2 \
	    --device $(DEVICE) --threads 2 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --device $(DEVICE) \
	    --runs runs/jets_cd_all_gpu_ft2 --types gqtwz --jets 5000 \
	    --samplers 'consistency:1,2,3 consistency:2@sigma_1=0.3' --protocols generated \
	    --name jets_time_fidelity_cd_gpu_ft2
	$(BIN)/lhcgen train configs/jets_consistency_all_gpu_ft2_long.yaml \
	    --out runs/jets_cd_all_gpu_ft2_long --device $(DEVICE) --threads 2 --resume
	$(BIN)/python benchmarks/jets_time_fidelity.py --device $(DEVICE) \
	    --runs runs/jets_cd_all_gpu_ft2_long --types gqtwz --jets 5000 \
	    --samplers 'consistency:1,2,3 consistency:2@sigma_1=0.3 consistency:3@sigma_1=1@sigma_2=0.3' \
	    --protocols generated --name jets_time_fidelity_cd_gpu_ft2_long
	$(BIN)/python benchmarks/jets_network_cost.py --device $(DEVICE) --run runs/jets_cd_all_gpu \
	    --type t --jets 60000 --batch-size 20000 --samplers consistency:1,2,3 \
	    --protocol generated --name jets_network_cost_gpu_cd
	$(BIN)/python benchmarks/jets_network_cost.py --device $(DEVICE) \
	    --run runs/jets_edm_all_gpu --type t --jets 40000 --batch-size 20000 \
	    --samplers midpoint:16 --protocol generated --name jets_network_cost_gpu_edm

## make jetsfloor: the truth's own ×floor (benchmarks/jets_floor_spread.py), what Pythia itself
## scores in the time-fidelity tables: at 5000 jets 49 independent truth samples per type cut
## from the 50000-jet files, at 50000 jets three more Pythia files per type (seeds 21-23,
## 3.5-4.5 min each on 2 cores), then the generators' seeds against them
## (benchmarks/jets_seed_spread.py; it reads the committed time-fidelity results). About
## 1 h 30 min on 2 cores with the files to make; every file made is kept
JETS_FLOOR_FILES := a:1:50000 a5k:1:5000 b5k:2:5000 b50k:3:50000 c50k:21:50000 \
	d50k:22:50000 e50k:23:50000
jetsfloor: $(STAMP)
	for t in g q t w z; do for f in $(JETS_FLOOR_FILES); do \
	    name=$${f%%:*}; rest=$${f#*:}; out=data/jets/$${t}30_$$name.h5; \
	    [ -f $$out ] || $(BIN)/lhcgen data jets --type $$t --jets $${rest#*:} \
	        --seed $${rest%%:*} --workers 2 --out $$out || exit 1; done; done
	$(BIN)/python benchmarks/jets_floor_spread.py --types gqtwz --jets 5000 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --draws 'data/jets/{type}30_a.h5' 'data/jets/{type}30_b50k.h5' \
	    'data/jets/{type}30_c50k.h5' 'data/jets/{type}30_d50k.h5' 'data/jets/{type}30_e50k.h5' \
	    --name jets_floor_spread_5k
	$(BIN)/python benchmarks/jets_floor_spread.py --types gqtwz --jets 50000 \
	    --truth 'data/jets/{type}30_b50k.h5' --truth-floor 'data/jets/{type}30_a.h5' \
	    --draws 'data/jets/{type}30_c50k.h5' 'data/jets/{type}30_d50k.h5' \
	    'data/jets/{type}30_e50k.h5' --name jets_floor_spread_50k
	$(MAKE) jetsspread

## make jetsmass: the constituents' mass against the sampler. The 111-epoch teacher given the
## kinematics of 5000 truth jets per type at 16, 32 and 64 midpoint steps and 32 stochastic
## steps (S_churn 5), jet by jet (benchmarks/jets_mass_response.py), beside the truth's own
## per-jet spread; the same network after 10 and 61 of its epochs (jets_edm_all_gpu and
## jets_edm_all_gpu_ft) for t, W and Z at 32 midpoint steps; then top jets fully generated at
## 50000 jets with the stochastic sampler, and the seed spreads against Pythia's own (after
## make jetsgpu and make jetsfloor). About 1 h 15 min on 2 cores
JETS_MASS_SAMPLERS := midpoint:16: midpoint:32: midpoint:64: stochastic:32:5
jetsmass: $(STAMP)
	for t in g q t w z; do files=; for s in $(JETS_MASS_SAMPLERS); do \
	    solver=$${s%%:*}; rest=$${s#*:}; steps=$${rest%%:*}; churn=$${rest#*:}; \
	    out=runs/mass_response_$${t}_$${solver}$${steps}.h5; files="$$files $$out"; \
	    $(BIN)/lhcgen sample runs/jets_edm_all_gpu_ft2_conditions -n 5000 --type $$t \
	        --condition-from data/jets/$${t}30_b5k.h5 --solver $$solver --steps $$steps \
	        $${churn:+--s-churn $$churn} --threads 2 --out $$out || exit 1; done; \
	    $(BIN)/python benchmarks/jets_mass_response.py --generated $$files \
	        --truth data/jets/$${t}30_b5k.h5 --truth-2 data/jets/$${t}30_c50k.h5 \
	        --name jets_mass_response_gpu_ft2_$$t || exit 1; done
	for t in t w z; do for r in jets_edm_all_gpu:e10 jets_edm_all_gpu_ft:e61; do \
	    $(BIN)/lhcgen sample runs/$${r%%:*} -n 5000 --type $$t \
	        --condition-from data/jets/$${t}30_b5k.h5 --solver midpoint --steps 32 --threads 2 \
	        --out runs/mass_response_$${t}_$${r#*:}_midpoint32.h5 || exit 1; done; \
	    $(BIN)/python benchmarks/jets_mass_response.py \
	        --generated runs/mass_response_$${t}_e10_midpoint32.h5 \
	        runs/mass_response_$${t}_e61_midpoint32.h5 runs/mass_response_$${t}_midpoint32.h5 \
	        --truth data/jets/$${t}30_b5k.h5 --truth-2 data/jets/$${t}30_c50k.h5 \
	        --name jets_mass_response_epochs_$$t || exit 1; done
	$(BIN)/python benchmarks/jets_time_fidelity.py \
	    --runs runs/jets_edm_all_gpu_ft2_conditions --samplers stochastic:32@s_churn=5 \
	    --protocols generated --threads 2 --types t --jets 50000 \
	    --truth 'data/jets/{type}30_b50k.h5' --truth-floor 'data/jets/{type}30_a.h5' \
	    --name jets_time_fidelity_gpu_ft2_conditions_50k_t_churn5
	$(MAKE) jetsspread

## make jetsoctaves: does the network resolve the jet mass it is given? configs/jets_edm.yaml
## and the same with six octaves of the conditions (configs/jets_edm_octaves.yaml,
## model.context_frequencies) trained on the same 50000 top jets for the same 40 epochs (each
## once more with training seed 2), each given the kinematics of 5000 truth jets: their
## constituents' mass by decile of m_jet (benchmarks/jets_mass_response.py), then the two
## seed-1 runs on the time-fidelity benchmark. About 2 h 30 min on 2 cores; runs are kept
JETS_OCTAVES_RUNS := jets_edm:jets_edm:1:t jets_edm_seed2:jets_edm:2:t \
	jets_edm_octaves:jets_edm_octaves:1:t jets_edm_octaves_seed2:jets_edm_octaves:2:t
JETS_MASS_LOSS_RUNS := jets_edm jets_edm_mass jets_edm_mass_mid jets_edm_mass_low \
	jets_edm_mass_sum
# $(call ab_data,TYPES): the jets of the CPU A/B targets (jetsoctaves, jetsedge, jetslowsigma)
# per type, each made once: 50000 to train on, 5000 whose kinematics the runs are given, 5000
# for the floor, 50000 independent ones for the truth's own spread
ab_data = for t in $(1); do \
	    [ -f data/jets/$${t}30_a.h5 ] || $(BIN)/lhcgen data jets --type $$t --jets 50000 \
	        --seed 1 --workers 2 --out data/jets/$${t}30_a.h5 || exit 1; \
	    [ -f data/jets/$${t}30_a5k.h5 ] || $(BIN)/lhcgen data jets --type $$t --jets 5000 \
	        --seed 1 --workers 2 --out data/jets/$${t}30_a5k.h5 || exit 1; \
	    [ -f data/jets/$${t}30_b5k.h5 ] || $(BIN)/lhcgen data jets --type $$t --jets 5000 \
	        --seed 2 --workers 2 --out data/jets/$${t}30_b5k.h5 || exit 1; \
	    [ -f data/jets/$${t}30_c50k.h5 ] || $(BIN)/lhcgen data jets --type $$t --jets 50000 \
	        --seed 21 --workers 2 --out data/jets/$${t}30_c50k.h5 || exit 1; done

# $(call ab_runs,RUN:CONFIG:SEED:TYPE ...): train each run that has not finished, then sample
# 5000 jets of TYPE given the kinematics of TYPE30_b5k.h5 at 32 midpoint steps where not yet
# sampled (runs/mass_response_TYPE_RUN_midpoint32.h5)
ab_runs = for r in $(1); do run=$${r%%:*}; rest=$${r\#*:}; config=$${rest%%:*}; \
	    rest=$${rest\#*:}; seed=$${rest%%:*}; t=$${rest\#*:}; \
	    [ -f runs/$$run/metrics.json ] || $(BIN)/lhcgen train configs/$$config.yaml \
	        --out runs/$$run --seed $$seed --threads 2 --resume || exit 1; \
	    [ -f runs/mass_response_$${t}_$${run}_midpoint32.h5 ] || $(BIN)/lhcgen sample \
	        runs/$$run -n 5000 --type $$t --condition-from data/jets/$${t}30_b5k.h5 \
	        --solver midpoint --steps 32 --threads 2 \
	        --out runs/mass_response_$${t}_$${run}_midpoint32.h5 || exit 1; done

jetsoctaves: $(STAMP)
	$(call ab_data,t)
	$(call ab_runs,$(JETS_OCTAVES_RUNS))
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_t_jets_edm_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_seed2_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_octaves_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_octaves_seed2_midpoint32.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_octaves_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_octaves \
	    --types t --jets 5000 --samplers midpoint:16,32 --threads 2 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_octaves

## make jetsedge: the network's radial coordinate stretched at the jet radius
## (preprocessing.stretch_jet_edge) against the same network without it, same data, seed and
## budget: top jets (configs/jets_edm_edge.yaml beside the four runs of make jetsoctaves) and
## W jets (configs/jets_edm_edge_w.yaml against configs/jets_edm_w.yaml), by ring of Delta R
## (where the generated pT falls short of Pythia's) and by decile of m_jet
## (benchmarks/jets_mass_response.py), then on the time-fidelity benchmark. About 1 h 40 min
## on 2 cores beyond the runs of make jetsoctaves (trained here where missing); runs and
## samples are kept
JETS_EDGE_RUNS := jets_edm_edge:jets_edm_edge:1:t jets_edm_w:jets_edm_w:1:w \
	jets_edm_edge_w:jets_edm_edge_w:1:w
jetsedge: $(STAMP)
	$(call ab_data,t w)
	$(call ab_runs,$(JETS_OCTAVES_RUNS) $(JETS_EDGE_RUNS))
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_t_jets_edm_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_seed2_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_octaves_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_octaves_seed2_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_edge_midpoint32.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_edge_t
	$(BIN)/python benchmarks/jets_time_fidelity.py \
	    --runs runs/jets_edm runs/jets_edm_octaves runs/jets_edm_edge \
	    --types t --jets 5000 --samplers midpoint:16,32 --threads 2 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_edge
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_w_jets_edm_w_midpoint32.h5 \
	    runs/mass_response_w_jets_edm_edge_w_midpoint32.h5 \
	    --truth data/jets/w30_b5k.h5 --truth-2 data/jets/w30_c50k.h5 \
	    --name jets_mass_response_edge_w
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_w runs/jets_edm_edge_w \
	    --types w --jets 5000 --samplers midpoint:16,32 --threads 2 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_edge_w

## make jetslowsigma: EDM's training noise levels drawn lower (model.edm.p_mean -1.8 against
## Karras et al.'s -1.2; configs/jets_edm_low_sigma.yaml beside configs/jets_edm.yaml), same
## top jets, seed and budget: the constituents' mass and prongs
## (benchmarks/jets_mass_response.py), then the time-fidelity benchmark. About 1 h 40 min on
## 2 cores (runs trained here where missing); runs and samples are kept
JETS_LOW_SIGMA_RUNS := jets_edm:jets_edm:1:t jets_edm_low_sigma:jets_edm_low_sigma:1:t
jetslowsigma: $(STAMP)
	$(call ab_data,t)
	$(call ab_runs,$(JETS_LOW_SIGMA_RUNS))
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_t_jets_edm_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_low_sigma_midpoint32.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_low_sigma_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_low_sigma \
	    --types t --jets 5000 --samplers midpoint:16,32 --threads 2 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_low_sigma

## make jetspairs: the masked transformer with pair biases (model.pair_bias: attention between
## two constituents biased by their distance, as in ParT; configs/jets_edm_pairs.yaml) against
## the same transformer without them and the default CAE, same top jets, seed and budget: the
## constituents' mass and prongs, then the time-fidelity benchmark. About 2 h 40 min on 2
## cores (runs trained here where missing); runs and samples are kept
JETS_PAIRS_RUNS := jets_edm:jets_edm:1:t jets_edm_transformer:jets_edm_transformer:1:t \
	jets_edm_pairs:jets_edm_pairs:1:t
jetspairs: $(STAMP)
	$(call ab_data,t)
	$(call ab_runs,$(JETS_PAIRS_RUNS))
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_t_jets_edm_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_transformer_midpoint32.h5 \
	    runs/mass_response_t_jets_edm_pairs_midpoint32.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_pairs_t
	$(BIN)/python benchmarks/jets_time_fidelity.py \
	    --runs runs/jets_edm runs/jets_edm_transformer runs/jets_edm_pairs \
	    --types t --jets 5000 --samplers midpoint:16,32 --threads 2 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_pairs

## make jetsprongsamplers: is the excess of merged prongs the network's or the sampler's? The
## plain top-jet run (runs/jets_edm, trained by make jetslowsigma or make jetspairs where
## missing) sampled at midpoint 16, 32 and 64 steps and at 32 steps of EDM's stochastic sampler
## (S_churn 5), 5000 jets given the kinematics of t30_b5k.h5; then the mass and prong response.
## About 10 min on 2 cores once the run exists
jetsprongsamplers: $(STAMP)
	$(call ab_data,t)
	$(call ab_runs,jets_edm:jets_edm:1:t)
	$(BIN)/lhcgen sample runs/jets_edm -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 16 --threads 2 --out runs/mass_response_t_jets_edm_midpoint16.h5
	$(BIN)/lhcgen sample runs/jets_edm -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 64 --threads 2 --out runs/mass_response_t_jets_edm_midpoint64.h5
	$(BIN)/lhcgen sample runs/jets_edm -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver stochastic --steps 32 --s-churn 5 --threads 2 \
	    --out runs/mass_response_t_jets_edm_stochastic32.h5
	$(BIN)/python benchmarks/jets_mass_response.py \
	    --generated runs/mass_response_t_jets_edm_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_midpoint32.h5 runs/mass_response_t_jets_edm_midpoint64.h5 \
	    runs/mass_response_t_jets_edm_stochastic32.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_samplers_t

## make jetsquantile: the conditions model of the plain top-jet run (runs/jets_edm, trained here
## where missing) trained afresh with quantile marginals (configs/jets_edm_quantile.yaml: the
## same network, seed and budget; _quantile_400: four times the epochs) and with its own
## standardised marginals for four times the epochs (_conditions_400), judged alone against
## 50000 truth jets, then 50000 jets fully generated with the first and the last, and given
## the truth's kinematics; and the conditions models of W jets alone
## (configs/jets_conditions_w*.yaml). About 1 h 20 min on 2
## cores once runs/jets_edm exists (its training: 31 min more); data, runs and results are kept
JETS_QUANTILE_RUNS := jets_edm_quantile jets_edm_quantile_400 jets_edm_conditions_400 \
	jets_conditions_w jets_conditions_w_quantile jets_conditions_w_400 \
	jets_conditions_w_quantile_400
jetsquantile: $(STAMP)
	$(call ab_data,t w)
	for t in t w; do [ -f data/jets/$${t}30_b50k.h5 ] || $(BIN)/lhcgen data jets --type $$t \
	    --jets 50000 --seed 3 --workers 2 --out data/jets/$${t}30_b50k.h5 || exit 1; done
	$(call ab_runs,jets_edm:jets_edm:1:t)
	for run in $(JETS_QUANTILE_RUNS); do [ -f runs/$$run/metrics.json ] || $(BIN)/lhcgen train \
	    configs/$$run.yaml --out runs/$$run --seed 1 --threads 2 --resume || exit 1; done
	$(BIN)/python benchmarks/jets_conditions.py --runs runs/jets_edm,runs/jets_edm_quantile,runs/jets_edm_conditions_400,runs/jets_edm_quantile_400 \
	    --types t --jets 50000 --truth 'data/jets/{type}30_b50k.h5' \
	    --truth-floor 'data/jets/{type}30_c50k.h5' --name jets_conditions_quantile_t
	$(BIN)/python benchmarks/jets_conditions.py --runs runs/jets_conditions_w,runs/jets_conditions_w_quantile,runs/jets_conditions_w_400,runs/jets_conditions_w_quantile_400 \
	    --types w --jets 50000 --truth 'data/jets/{type}30_b50k.h5' \
	    --truth-floor 'data/jets/{type}30_c50k.h5' --name jets_conditions_quantile_w
	$(BIN)/python benchmarks/jets_conditions.py --runs runs/jets_edm,runs/jets_edm_quantile,runs/jets_edm_conditions_400,runs/jets_edm_quantile_400 \
	    --types t --jets 50000 --truth 'data/jets/{type}30_b50k.h5' --sampler midpoint:64 \
	    --truth-floor 'data/jets/{type}30_c50k.h5' --name jets_conditions_quantile_t_mid64
	$(BIN)/python benchmarks/jets_conditions.py --runs runs/jets_conditions_w,runs/jets_conditions_w_quantile,runs/jets_conditions_w_400,runs/jets_conditions_w_quantile_400 \
	    --types w --jets 50000 --truth 'data/jets/{type}30_b50k.h5' --sampler midpoint:64 \
	    --truth-floor 'data/jets/{type}30_c50k.h5' --name jets_conditions_quantile_w_mid64
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_quantile_400 \
	    --types t --jets 50000 --samplers midpoint:16 --protocols generated --threads 2 \
	    --truth 'data/jets/{type}30_b50k.h5' --truth-floor 'data/jets/{type}30_c50k.h5' \
	    --name jets_time_fidelity_quantile_50k
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm \
	    --types t --jets 50000 --samplers midpoint:16 --protocols file --threads 2 \
	    --truth 'data/jets/{type}30_b50k.h5' --truth-floor 'data/jets/{type}30_c50k.h5' \
	    --name jets_time_fidelity_quantile_50k_file

## make jetsguided: classifier-free guidance towards the jet kinematics. runs/jets_edm and the
## same network trained with condition dropout (configs/jets_edm_guided.yaml; each 25-31 min on
## 2 cores where missing), 5000 top jets given the truth's kinematics at guidance 1, 2 and 3
## (the jet-mass response by decile and by prong), then both runs in both protocols at 5000
## jets; a second seed of the guided network at guidance 1 beside the plain one. About 40 min
## once the three runs exist; data, runs and results are kept
jetsguided: $(STAMP)
	$(call ab_data,t)
	for run in jets_edm jets_edm_guided; do [ -f runs/$$run/metrics.json ] || $(BIN)/lhcgen \
	    train configs/$$run.yaml --out runs/$$run --seed 1 --threads 2 --resume || exit 1; done
	[ -f runs/mass_response_t_jets_edm_midpoint16.h5 ] || $(BIN)/lhcgen sample runs/jets_edm \
	    -n 5000 --type t --condition-from data/jets/t30_b5k.h5 --solver midpoint --steps 16 \
	    --threads 2 --out runs/mass_response_t_jets_edm_midpoint16.h5
	for s in w1:1 w1.25:1.25 w2:2 w3:3 w2_low:2:0,1 w2_high:2:1,inf; do name=$${s%%:*}; \
	    rest=$${s#*:}; w=$${rest%%:*}; interval=$${rest#$$w}; \
	    [ -f runs/mass_response_t_jets_edm_guided_$$name.h5 ] || $(BIN)/lhcgen sample \
	    runs/jets_edm_guided -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 16 --guidance $$w $${interval:+--guidance-sigmas $${interval#:}} \
	    --threads 2 --out runs/mass_response_t_jets_edm_guided_$$name.h5 || exit 1; done
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t_jets_edm_midpoint16.h5 runs/mass_response_t_jets_edm_guided_w1.h5 \
	    runs/mass_response_t_jets_edm_guided_w1.25.h5 runs/mass_response_t_jets_edm_guided_w2.h5 \
	    runs/mass_response_t_jets_edm_guided_w2_low.h5 runs/mass_response_t_jets_edm_guided_w2_high.h5 \
	    runs/mass_response_t_jets_edm_guided_w3.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_guided_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_guided \
	    --types t --jets 5000 --protocols file,generated --threads 2 \
	    --samplers 'midpoint:16 midpoint:16@guidance=1.25 midpoint:16@guidance=2' \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_guided
	[ -f runs/jets_edm_guided_seed2/metrics.json ] || $(BIN)/lhcgen train \
	    configs/jets_edm_guided.yaml --out runs/jets_edm_guided_seed2 --seed 2 --threads 2 --resume
	[ -f runs/mass_response_t_jets_edm_guided_seed2_w1.h5 ] || $(BIN)/lhcgen sample \
	    runs/jets_edm_guided_seed2 -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 16 --threads 2 \
	    --out runs/mass_response_t_jets_edm_guided_seed2_w1.h5
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t_jets_edm_midpoint16.h5 runs/mass_response_t_jets_edm_guided_w1.h5 \
	    runs/mass_response_t_jets_edm_guided_seed2_w1.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_guided_seeds_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_guided \
	    runs/jets_edm_guided_seed2 --types t --jets 5000 --protocols file --threads 2 \
	    --samplers midpoint:16 --truth 'data/jets/{type}30_b5k.h5' \
	    --truth-floor 'data/jets/{type}30_a5k.h5' --name jets_time_fidelity_guided_seeds

## make jetsmassloss: a loss on the constituents' mass. runs/jets_edm and the same network
## trained with model.edm.mass_loss 1 at noise levels sigma <= 1, 0.3 and 0.1
## (configs/jets_edm_mass{,_mid,_low}.yaml), each 28-32 min on 2 cores where missing, the
## sigma <= 0.3 one again at seed 2 and with the mass over the constituents' summed pT
## (configs/jets_edm_mass_sum.yaml);
## what each denoiser makes of the mass noise level by noise level, the jet-mass response of
## 5000 top jets given the truth's kinematics, and the JetNet metrics in both protocols at
## 5000 jets; then runs/jets_edm with and without the bound on the jet mass
## (--jet-mass both). About 25 min once the runs exist; data, runs and results are kept
jetsmassloss: $(STAMP)
	$(call ab_data,t)
	for run in $(JETS_MASS_LOSS_RUNS); do [ -f runs/$$run/metrics.json ] || $(BIN)/lhcgen \
	    train configs/$$run.yaml --out runs/$$run --seed 1 --threads 2 --resume || exit 1; done
	for run in $(JETS_MASS_LOSS_RUNS); do [ -f runs/mass_response_t_$${run}_midpoint16.h5 ] || \
	    $(BIN)/lhcgen sample runs/$$run -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 16 --threads 2 \
	    --out runs/mass_response_t_$${run}_midpoint16.h5 || exit 1; done
	$(BIN)/python benchmarks/jets_denoised_mass.py --runs runs/jets_edm runs/jets_edm_mass \
	    runs/jets_edm_mass_mid runs/jets_edm_mass_low runs/jets_edm_mass_sum \
	    --truth data/jets/t30_b5k.h5 --type t \
	    --jets 5000 --threads 2 --name jets_denoised_mass_t
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t_jets_edm_midpoint16.h5 runs/mass_response_t_jets_edm_mass_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_mass_mid_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_mass_low_midpoint16.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_mass_loss_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm runs/jets_edm_mass \
	    runs/jets_edm_mass_mid runs/jets_edm_mass_low --types t --jets 5000 \
	    --protocols file,generated --threads 2 --samplers midpoint:16 --truth 'data/jets/{type}30_b5k.h5' \
	    --truth-floor 'data/jets/{type}30_a5k.h5' --name jets_time_fidelity_mass_loss
	[ -f runs/jets_edm_mass_mid_seed2/metrics.json ] || $(BIN)/lhcgen train \
	    configs/jets_edm_mass_mid.yaml --out runs/jets_edm_mass_mid_seed2 --seed 2 --threads 2 --resume
	[ -f runs/mass_response_t_jets_edm_mass_mid_seed2_midpoint16.h5 ] || $(BIN)/lhcgen sample \
	    runs/jets_edm_mass_mid_seed2 -n 5000 --type t --condition-from data/jets/t30_b5k.h5 \
	    --solver midpoint --steps 16 --threads 2 \
	    --out runs/mass_response_t_jets_edm_mass_mid_seed2_midpoint16.h5
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t_jets_edm_midpoint16.h5 runs/mass_response_t_jets_edm_mass_mid_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_mass_mid_seed2_midpoint16.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 \
	    --name jets_mass_response_mass_loss_seeds_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_mass_mid_seed2 --types t \
	    --jets 5000 --protocols file,generated --threads 2 --samplers midpoint:16 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_mass_loss_seed2
	$(BIN)/python benchmarks/jets_mass_response.py --generated \
	    runs/mass_response_t_jets_edm_midpoint16.h5 runs/mass_response_t_jets_edm_mass_mid_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_mass_mid_seed2_midpoint16.h5 \
	    runs/mass_response_t_jets_edm_mass_sum_midpoint16.h5 \
	    --truth data/jets/t30_b5k.h5 --truth-2 data/jets/t30_c50k.h5 --name jets_mass_response_mass_sum_t
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm_mass_sum --types t \
	    --jets 5000 --protocols file,generated --threads 2 --samplers midpoint:16 \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_mass_sum
	$(BIN)/python benchmarks/jets_time_fidelity.py --runs runs/jets_edm --types t --jets 5000 \
	    --samplers 'midpoint:16' --protocols file,generated --threads 2 --jet-mass both \
	    --truth 'data/jets/{type}30_b5k.h5' --truth-floor 'data/jets/{type}30_a5k.h5' \
	    --name jets_time_fidelity_30_mass_bound

## make jetsspread: the generators' sampling seeds against Pythia's own samples (seconds; it
## reads the committed time-fidelity and floor-spread results, which make jetsfloor and make
## jetsmass remake)
jetsspread: $(STAMP)
	$(BIN)/python benchmarks/jets_seed_spread.py --results \
	    jets_time_fidelity_gpu_ft2_conditions jets_time_fidelity_cd_gpu_ft2 \
	    jets_time_fidelity_cd_gpu_ft2_long jets_time_fidelity_gpu_ft2_conditions_seed1 \
	    jets_time_fidelity_cd_gpu_ft2_long_seed1 jets_time_fidelity_cd_gpu_ft2_seed2 \
	    jets_time_fidelity_cd_gpu_ft2_seed3 --reference jets_edm_all_gpu_ft2_conditions \
	    --floor-spread jets_floor_spread_5k --name jets_seed_spread_cd_gpu_ft2_truth
	$(BIN)/python benchmarks/jets_seed_spread.py --min-seeds 1 --results \
	    jets_time_fidelity_gpu_ft2_conditions_50k jets_time_fidelity_gpu_ft2_conditions_50k_qwg \
	    jets_time_fidelity_gpu_ft2_conditions_50k_g_mid32 \
	    jets_time_fidelity_gpu_ft2_conditions_50k_q_mid32 \
	    jets_time_fidelity_gpu_ft2_conditions_50k_t_mid32 \
	    jets_time_fidelity_gpu_ft2_conditions_50k_w_mid32 \
	    jets_time_fidelity_gpu_ft2_conditions_50k_z_mid32 jets_time_fidelity_cd_gpu_ft2_long_50k \
	    jets_time_fidelity_gpu_ft2_conditions_50k_t_churn5 \
	    --reference jets_edm_all_gpu_ft2_conditions --floor-spread jets_floor_spread_50k \
	    --name jets_seed_spread_50k_truth

## make paired: the reference paired particle/detector samples for unfolding (100k Z+jets and
## 100k semi-leptonic ttbar events through the default ATLAS-like card; about 1 h each on 2
## cores), their detector reports, the detector against its card on single particles, and the
## generation rates with the cost of the detector
paired: $(STAMP)
	$(BIN)/python benchmarks/detector_closure.py --events 20000
	$(BIN)/python benchmarks/paired_rates.py --events 1000
	$(BIN)/lhcgen data zjets --detector --events 100000 --seed 1 --workers 2 \
	    --out data/paired/zjets_paired.h5
	$(BIN)/lhcgen data ttbar --events 100000 --seed 1 --workers 2 \
	    --out data/paired/ttbar_paired.h5
	$(BIN)/lhcgen detector data/paired/zjets_paired.h5 --report benchmarks/results/detector_zjets
	$(BIN)/lhcgen detector data/paired/ttbar_paired.h5 --report benchmarks/results/detector_ttbar

## make bench: the benchmarks whose results are committed in benchmarks/results
## (makes the reference data first; cfm_sampling needs runs/cfm from make full)
bench: data
	$(BIN)/python benchmarks/pythia_throughput.py
	$(BIN)/python benchmarks/zjets_definition.py
	$(BIN)/python benchmarks/pthat_stability.py
	$(BIN)/python benchmarks/zjets_hard_process.py --classify
	$(BIN)/python benchmarks/kill_resume.py --trials 20
	$(BIN)/python benchmarks/cfm_sampling.py --run runs/cfm --truth data/zjets_test.h5
	$(BIN)/python benchmarks/event_generators.py --minutes 6 --classifier
	$(BIN)/python benchmarks/jet_floor.py --jets 50000 --types gqtwz --particles 30
	$(BIN)/python benchmarks/judge_power.py
	$(BIN)/python benchmarks/ddp_steps.py

clean:
	rm -rf demo_output .pytest_cache
