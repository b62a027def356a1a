# linux.pkr.hcl — an Azure managed image made ready for Azure Backup by agentkeeper.
#
#   make package                                  # dist/agentkeeper_*_amd64.deb
#   packer init packaging/packer/linux.pkr.hcl
#   packer build \
#     -var subscription_id=... -var resource_group=images \
#     -var agentkeeper_package=dist/agentkeeper_0.1.0-1_amd64.deb \
#     packaging/packer/linux.pkr.hcl
#
# The provisioning lives in provision-linux.sh (tested by scripts/packer-test.sh in a
# Debian 12 chroot), so any other builder — qemu, a chroot builder, another cloud —
# reuses it with the same three provisioners: upload the package, upload the script,
# run it as root. It installs the package, runs `agentkeeper ensure --json
# --wait-backup 0` (installs or updates the Azure VM agent, enables its unit),
# retries exit 75 (deferred) agentkeeper_retries times agentkeeper_retry_delay
# seconds apart, and fails the build on anything else.
#
# Authentication: az login (use_azure_cli_auth, the default) or a service
# principal (client_id, client_secret, tenant_id).

packer {
  required_plugins {
    azure = {
      source  = "github.com/hashicorp/azure"
      version = ">= 2.0.0"
    }
  }
}

variable "agentkeeper_package" {
  type        = string
  description = "The agentkeeper .deb (Debian, Ubuntu) or .rpm (RHEL, SLES, Azure Linux) on this machine, matching the image's distribution and architecture."
  validation {
    condition     = can(regex("\\.(deb|rpm)$", var.agentkeeper_package))
    error_message = "The agentkeeper_package must be a .deb or an .rpm file."
  }
}

variable "agentkeeper_config" {
  type        = string
  default     = ""
  description = "Optional config.yaml on this machine, installed as /etc/agentkeeper/config.yaml (\"\": keep the packaged one)."
  validation {
    condition     = var.agentkeeper_config == "" || can(file(var.agentkeeper_config))
    error_message = "The agentkeeper_config file cannot be read."
  }
}

variable "agentkeeper_retries" {
  type        = number
  default     = 5
  description = "How many times a deferred ensure (exit 75: a backup or another install is running) is run again."
}

variable "agentkeeper_retry_delay" {
  type        = number
  default     = 30
  description = "Seconds between those runs."
}

variable "use_azure_cli_auth" {
  type    = bool
  default = true
}
variable "subscription_id" {
  type    = string
  default = ""
}
variable "tenant_id" {
  type    = string
  default = ""
}
variable "client_id" {
  type    = string
  default = ""
}
variable "client_secret" {
  type      = string
  default   = ""
  sensitive = true
}
variable "resource_group" {
  type        = string
  description = "Resource group of the managed image."
}
variable "image_name" {
  type    = string
  default = "debian12-agentkeeper"
}
variable "location" {
  type    = string
  default = "westeurope"
}
variable "vm_size" {
  type    = string
  default = "Standard_D2s_v5"
}
variable "image_publisher" {
  type    = string
  default = "Debian"
}
variable "image_offer" {
  type    = string
  default = "debian-12"
}
variable "image_sku" {
  type    = string
  default = "12-gen2"
}

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
  # Keep the extension: provision-linux.sh picks apt-get or dnf/yum/zypper/rpm by it.
  package_dest = "/tmp/${basename(var.agentkeeper_package)}"
}

source "azure-arm" "linux" {
  use_azure_cli_auth = var.use_azure_cli_auth
  subscription_id    = var.subscription_id
  tenant_id          = var.tenant_id
  client_id          = var.client_id
  client_secret      = var.client_secret

  os_type         = "Linux"
  image_publisher = var.image_publisher
  image_offer     = var.image_offer
  image_sku       = var.image_sku
  location        = var.location
  vm_size         = var.vm_size

  managed_image_resource_group_name = var.resource_group
  managed_image_name                = "${var.image_name}-${local.stamp}"

  azure_tags = {
    built_by = "packer"
    prepared = "agentkeeper"
  }
}

build {
  sources = ["source.azure-arm.linux"]

  provisioner "file" {
    source      = var.agentkeeper_package
    destination = local.package_dest
  }

  provisioner "file" {
    source      = "${path.root}/provision-linux.sh"
    destination = "/tmp/provision-linux.sh"
  }

  # Always uploaded (Packer has no conditional provisioners); used only when set.
  provisioner "file" {
    content     = try(file(var.agentkeeper_config), "# no agentkeeper_config given\n")
    destination = "/tmp/agentkeeper-config.yaml"
  }

  provisioner "shell" {
    environment_vars = [
      "AGENTKEEPER_RETRIES=${var.agentkeeper_retries}",
      "AGENTKEEPER_RETRY_DELAY=${var.agentkeeper_retry_delay}",
      "AGENTKEEPER_CONFIG=${var.agentkeeper_config == "" ? "" : "/tmp/agentkeeper-config.yaml"}",
    ]
    # sudo -E keeps the variables above; bash -e stops at the first failing line, and
    # provision-linux.sh exits 1 on any failure: the build fails.
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E bash -e '{{ .Path }}'"
    inline = [
      "bash /tmp/provision-linux.sh ${local.package_dest}",
      "rm -f /tmp/provision-linux.sh /tmp/agentkeeper-config.yaml",
    ]
    inline_shebang = "/bin/bash -e"
  }

  # Azure's generalisation step for Linux images: last, after everything else.
  provisioner "shell" {
    execute_command = "chmod +x {{ .Path }}; {{ .Vars }} sudo -E sh '{{ .Path }}'"
    inline = [
      "/usr/sbin/waagent -force -deprovision+user && export HISTSIZE=0 && sync",
    ]
    inline_shebang = "/bin/sh -x"
  }
}
