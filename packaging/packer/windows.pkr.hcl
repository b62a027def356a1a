# windows.pkr.hcl — an Azure Windows managed image made ready for Azure Backup by agentkeeper.
#
#   packer init packaging/packer/windows.pkr.hcl
#   packer build \
#     -var subscription_id=... -var resource_group=images \
#     -var agentkeeper_package=dist/agentkeeper-0.1.0-amd64.msi \
#     -var agent_msi=https://.../WindowsAzureVmAgent.msi -var agent_msi_sha256=<sha256> \
#     packaging/packer/windows.pkr.hcl
#
# The provisioning lives in provision-windows.ps1: it installs agentkeeper's MSI (or
# uses a bare agentkeeper.exe), runs `agentkeeper ensure --json --wait-backup 0` with
# windows.msi / windows.msi_sha256 from agent_msi / agent_msi_sha256 (the Azure VM
# agent MSI and its SHA-256: ensure runs nothing unverified), retries exit 75
# (deferred) and fails the build (exit 1) on anything else. Then Azure's sysprep step.

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
  description = "agentkeeper's MSI (installed, with its service) or a bare agentkeeper.exe (only run), on this machine."
  validation {
    condition     = can(regex("(?i)\\.(msi|exe)$", var.agentkeeper_package))
    error_message = "The agentkeeper_package must be an .msi or an .exe file."
  }
}

variable "agent_msi" {
  type        = string
  default     = ""
  description = "windows.msi: the Azure VM agent MSI, an https:// URL or a path on the build VM (\"\": ensure only confirms the agent the image already has)."
}

variable "agent_msi_sha256" {
  type        = string
  default     = ""
  description = "windows.msi_sha256: the MSI's SHA-256 (\"\": its Authenticode signature is checked instead)."
  validation {
    condition     = var.agent_msi_sha256 == "" || can(regex("^[0-9A-Fa-f]{64}$", var.agent_msi_sha256))
    error_message = "The agent_msi_sha256 must be 64 hexadecimal digits."
  }
}

variable "agentkeeper_retries" {
  type    = number
  default = 5
}

variable "agentkeeper_retry_delay" {
  type    = number
  default = 30
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
  type = string
}
variable "image_name" {
  type    = string
  default = "ws2022-agentkeeper"
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
  default = "MicrosoftWindowsServer"
}
variable "image_offer" {
  type    = string
  default = "WindowsServer"
}
variable "image_sku" {
  type    = string
  default = "2022-datacenter-azure-edition"
}

locals {
  stamp        = formatdate("YYYYMMDDhhmmss", timestamp())
  package_dest = "C:/Windows/Temp/${basename(var.agentkeeper_package)}"
}

source "azure-arm" "windows" {
  use_azure_cli_auth = var.use_azure_cli_auth
  subscription_id    = var.subscription_id
  tenant_id          = var.tenant_id
  client_id          = var.client_id
  client_secret      = var.client_secret

  os_type         = "Windows"
  image_publisher = var.image_publisher
  image_offer     = var.image_offer
  image_sku       = var.image_sku
  location        = var.location
  vm_size         = var.vm_size

  communicator   = "winrm"
  winrm_use_ssl  = true
  winrm_insecure = true
  winrm_timeout  = "10m"
  winrm_username = "packer"

  managed_image_resource_group_name = var.resource_group
  managed_image_name                = "${var.image_name}-${local.stamp}"

  azure_tags = {
    built_by = "packer"
    prepared = "agentkeeper"
  }
}

build {
  sources = ["source.azure-arm.windows"]

  provisioner "file" {
    source      = var.agentkeeper_package
    destination = local.package_dest
  }

  provisioner "powershell" {
    environment_vars = [
      "AGENTKEEPER_PACKAGE=${local.package_dest}",
      "AGENTKEEPER_WINDOWS_MSI=${var.agent_msi}",
      "AGENTKEEPER_WINDOWS_MSI_SHA256=${var.agent_msi_sha256}",
      "AGENTKEEPER_RETRIES=${var.agentkeeper_retries}",
      "AGENTKEEPER_RETRY_DELAY=${var.agentkeeper_retry_delay}",
    ]
    script = "${path.root}/provision-windows.ps1"
  }

  # Azure's generalisation step for Windows images: wait for the agent's services,
  # sysprep, and wait until Windows says the image is ready to be captured.
  provisioner "powershell" {
    inline = [
      "while ((Get-Service RdAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
      "while ((Get-Service WindowsAzureGuestAgent).Status -ne 'Running') { Start-Sleep -s 5 }",
      "& $env:SystemRoot\\System32\\Sysprep\\Sysprep.exe /oobe /generalize /quiet /quit /mode:vm",
      "while ($true) { $s = (Get-ItemProperty HKLM:\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Setup\\State).ImageState; if ($s -ne 'IMAGE_STATE_GENERALIZE_RESEAL_TO_OOBE') { Write-Output $s; Start-Sleep -s 10 } else { break } }",
    ]
  }
}
