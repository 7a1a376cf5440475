# delivery_robot_nav — every set-up step of the pip route (no ROS install) lives here.
#   make demo    set up, then drive a simulated campus loop over DDS and write a report
#   make test    set up, then run the test suite
#   make bench   set up, then run the benchmarks (bench/) and print their JSON
# Set-up is idempotent: stamps in .venv/ make a second run a no-op.

PYTHON   ?= python3
VENV     := .venv
BIN      := $(VENV)/bin
PY       := $(BIN)/python
BUILD    := build
OUTDIR   ?= out

# DDS stays on this machine; each run gets its own domain unless one is given.
export ROS_AUTOMATIC_DISCOVERY_RANGE := LOCALHOST
export ROS_DOMAIN_ID ?= $(shell echo $$(( $$$$ % 100 + 100 )))
export RMW_IMPLEMENTATION := rmw_fastrtps_cpp

INTERFACE_SRC := $(shell find interfaces -type f 2>/dev/null)

.PHONY: setup demo test bench clean distclean help

help:
	@sed -n '2,5p' Makefile

setup: $(VENV)/.stamp-package

# Host needs (Debian 12: apt-get install python3-venv python3-dev build-essential).
HOST_HINT := needs Python 3.11 with venv and headers and a C/C++ compiler; on Debian 12: \
	sudo apt-get install python3-venv python3-dev build-essential

$(VENV)/.stamp-deps: requirements.txt constraints.txt
	@command -v cc >/dev/null && command -v c++ >/dev/null || { echo "make setup $(HOST_HINT)"; exit 1; }
	@$(PYTHON) -c 'import sys, sysconfig, os; sys.exit(sys.version_info[:2] != (3, 11) or not os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")))' \
	  || { echo "make setup $(HOST_HINT) ($(PYTHON) is not 3.11 or lacks Python.h)"; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); echo "make setup $(HOST_HINT)"; exit 1; }
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

# Interface packages: built with CMake against the ROS wheels, installed into the venv
# prefix (share/, lib/, site-packages) exactly as colcon would install them.
define build_interface
	AMENT_PREFIX_PATH=$(abspath $(VENV)) $(BIN)/cmake -S interfaces/$(1) -B $(BUILD)/$(1) -G Ninja \
	  -DCMAKE_MAKE_PROGRAM=$(abspath $(BIN)/ninja) \
	  -DCMAKE_PREFIX_PATH=$(abspath $(VENV)) -DCMAKE_INSTALL_PREFIX=$(abspath $(VENV)) \
	  -DPython3_EXECUTABLE=$(abspath $(PY)) -DBUILD_TESTING=OFF \
	  -DCMAKE_PROJECT_INCLUDE=$(abspath interfaces/cmake/pip_ros_prefix.cmake) > $(BUILD)/$(1).log 2>&1 \
	  || (tail -40 $(BUILD)/$(1).log; exit 1)
	AMENT_PREFIX_PATH=$(abspath $(VENV)) $(BIN)/cmake --build $(BUILD)/$(1) >> $(BUILD)/$(1).log 2>&1 \
	  || (tail -40 $(BUILD)/$(1).log; exit 1)
	$(BIN)/cmake --install $(BUILD)/$(1) >> $(BUILD)/$(1).log 2>&1 || (tail -40 $(BUILD)/$(1).log; exit 1)
endef

$(VENV)/.stamp-interfaces: $(VENV)/.stamp-deps $(INTERFACE_SRC)
	mkdir -p $(BUILD)
	$(call build_interface,tf2_msgs)
	$(call build_interface,delivery_robot_msgs)
	touch $@

$(VENV)/.stamp-package: $(VENV)/.stamp-interfaces setup.py setup.cfg package.xml
	$(PY) -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation -e .
	touch $@

demo: setup
	$(BIN)/delivery-nav demo --output $(OUTDIR)/demo

test: setup
	$(PY) -m pytest

bench: setup
	$(BIN)/delivery-nav bench --json $(OUTDIR)/bench.json

clean:
	rm -rf $(BUILD) $(OUTDIR) .pytest_cache

distclean: clean
	rm -rf $(VENV)
