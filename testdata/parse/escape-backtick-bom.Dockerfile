# escape=`
FROM mcr.microsoft.com/windows/servercore
RUN dir `
    c:\ `
    /b
COPY C:\src\ C:\dst\
